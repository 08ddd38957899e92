// 2×2 max pooling, stride 2, TF/Keras 'same' padding, and its gradient.
//   x, dx:     N×H×W×C float32 (NHWC, as Keras)
//   y, dy:     N×Ho×Wo×C with Ho = ⌈H/2⌉, Wo = ⌈W/2⌉
//   argmax:    N×Ho×Wo×C u32, the winning cell of each window as dy*2+dx
// An odd H or W is padded at the end only (bottom/right), and padding never
// wins: a border window takes the max over its real cells. Each dispatch is
// 1-D, folded over x and y of the grid (runtime.ts dispatch1d).

struct Params { N: u32, H: u32, W: u32, C: u32, Ho: u32, Wo: u32 }
override WG_X: u32 = 256;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> argmax: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

// One invocation per y element: scans its window in row-major order and keeps
// the first maximum (strict >), as TF does on ties.
@compute @workgroup_size(WG_X)
fn maxPool2dForward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG_X;
  if (i >= p.N * p.Ho * p.Wo * p.C) { return; }
  let c = i % p.C;
  let ow = (i / p.C) % p.Wo;
  let oh = (i / (p.C * p.Wo)) % p.Ho;
  let n = i / (p.C * p.Wo * p.Ho);
  // The window's first cell (2oh, 2ow) always exists, so it seeds the max.
  let base = ((n * p.H + 2u * oh) * p.W + 2u * ow) * p.C + c;
  var best = x[base];
  var cell = 0u;
  for (var dy = 0u; dy < 2u; dy++) {
    for (var dx = 0u; dx < 2u; dx++) {
      if (2u * oh + dy < p.H && 2u * ow + dx < p.W) {
        let v = x[base + (dy * p.W + dx) * p.C];
        if (v > best) { best = v; cell = dy * 2u + dx; }
      }
    }
  }
  y[i] = best;
  argmax[i] = cell;
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> bargmax: array<u32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> bp: Params;

// One invocation per dx element. Windows do not overlap (stride 2 = size 2),
// so each x cell belongs to exactly one window and gathers its gradient from
// it: no atomics, no scatter.
@compute @workgroup_size(WG_X)
fn maxPool2dBackward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG_X;
  if (i >= bp.N * bp.H * bp.W * bp.C) { return; }
  let c = i % bp.C;
  let w = (i / bp.C) % bp.W;
  let h = (i / (bp.C * bp.W)) % bp.H;
  let n = i / (bp.C * bp.W * bp.H);
  let o = ((n * bp.Ho + h / 2u) * bp.Wo + w / 2u) * bp.C + c;
  dx[i] = select(0.0, dy[o], bargmax[o] == (h % 2u) * 2u + w % 2u);
}
