// Leaky ReLU and its gradient, elementwise over any shape; ReLU is alpha = 0.
//   x, dy, y, dx: n float32 values (any layout; the op is elementwise)
// One invocation per element, a 1-D index folded over x and y of the grid
// (runtime.ts dispatch1d) so that batch-256 activations fit the dispatch limits.

struct Params { n: u32, alpha: f32 }
override WG_X: u32 = 256;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG_X)
fn leakyReluForward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG_X;
  if (i >= p.n) { return; }
  let v = x[i];
  y[i] = select(p.alpha * v, v, v > 0.0);
}

// dx = dy where x > 0, alpha * dy elsewhere (the kink at 0 takes the alpha side, as TF).
@group(0) @binding(0) var<storage, read> bx: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> bp: Params;

@compute @workgroup_size(WG_X)
fn leakyReluBackward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG_X;
  if (i >= bp.n) { return; }
  dx[i] = select(bp.alpha * dy[i], dy[i], bx[i] > 0.0);
}
