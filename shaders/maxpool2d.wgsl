// 2×2 max pooling, stride 2, TF/Keras 'same' padding, and its gradient.
//   x, dx:     N×H×W×C float32 (NHWC, as Keras)
//   y, dy:     N×Ho×Wo×C with Ho = ⌈H/2⌉, Wo = ⌈W/2⌉
//   argmax:    N×Ho×Wo×C u32, the winning cell of each window as dy*2+dx
// An odd H or W is padded at the end only (bottom/right), and padding never
// wins: a border window takes the max over its real cells.
// The grid is (channel, column, image row): invocation ids give c and the
// column directly, and the one division (n and the row from z) is uniform
// over a workgroup. Per-invocation integer division, which lavapipe does lane
// by lane, cost more than the pooling itself. Past 65,535 image rows the
// dispatcher splits the grid into several dispatches, z0 giving the first row.

struct Params { N: u32, H: u32, W: u32, C: u32, Ho: u32, Wo: u32, z0: u32 }
override WG_X: u32 = 64;
override WG_Y: u32 = 1;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> argmax: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

// One invocation per y element (c, ow, z = n·Ho + oh): scans its window in
// row-major order and keeps the first maximum (strict >), as TF does on ties.
@compute @workgroup_size(WG_X, WG_Y)
fn maxPool2dForward(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = gid.x;
  let ow = gid.y;
  if (c >= p.C || ow >= p.Wo) { return; }
  let z = p.z0 + wid.z;
  let n = z / p.Ho;
  let oh = z % p.Ho;
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
  let i = (z * p.Wo + ow) * p.C + c;
  y[i] = best;
  argmax[i] = cell;
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> bargmax: array<u32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> bp: Params;

// One invocation per dx element (c, w, z = n·H + h). Windows do not overlap
// (stride 2 = size 2), so each x cell belongs to exactly one window and
// gathers its gradient from it: no atomics, no scatter.
@compute @workgroup_size(WG_X, WG_Y)
fn maxPool2dBackward(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = gid.x;
  let w = gid.y;
  if (c >= bp.C || w >= bp.W) { return; }
  let z = bp.z0 + wid.z;
  let n = z / bp.H;
  let h = z % bp.H;
  let o = ((n * bp.Ho + h / 2u) * bp.Wo + w / 2u) * bp.C + c;
  dx[(z * bp.W + w) * bp.C + c] = select(0.0, dy[o], bargmax[o] == (h % 2u) * 2u + w % 2u);
}
