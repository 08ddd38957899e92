// A block of columns copied between two tensors seen as rows × last axis:
// dst[r, dstStart + c] = src[r, srcStart + c] for c < width. Concat over the
// last axis is one copy per input into the output; its backward is one copy
// per input out of the gradient (a slice).
//   src: rows × srcWidth, dst: rows × dstWidth (float32, row-major)
// One invocation per copied value, on a 1-D index folded over x and y of
// the grid (dispatch1d).

struct Params { rows: u32, width: u32, srcWidth: u32, srcStart: u32, dstWidth: u32, dstStart: u32 }
override WG_X: u32 = 256;

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG_X)
fn copyColumns(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG_X;
  if (i >= p.rows * p.width) { return; }
  let r = i / p.width;
  let c = i % p.width;
  dst[r * p.dstWidth + p.dstStart + c] = src[r * p.srcWidth + p.srcStart + c];
}
