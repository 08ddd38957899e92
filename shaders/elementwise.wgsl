// Elementwise sum of two tensors of one shape (gradient accumulation where a
// tensor feeds two ops).
//   a, b, y: n float32 values (any layout; the op is elementwise)
// One invocation per element, a 1-D index folded over x and y of the grid
// (runtime.ts dispatch1d) so that any size fits the dispatch limits.

struct Params { n: u32 }
override WG_X: u32 = 256;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG_X)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG_X;
  if (i >= p.n) { return; }
  y[i] = a[i] + b[i];
}
