// Elementwise sum of two tensors of one shape (gradient accumulation where a
// tensor feeds two ops), and their product (per-sample loss weights scaling
// the loss gradient).
//   a, b, y: n float32 values (any layout; the op is elementwise)
// As shaders/activation.wgsl: `add` (`mul`) does the first ⌊n/4⌋ vec4s,
// VEC4S consecutive vec4s per invocation, on a 1-D index folded over x and y
// of the grid (dispatch1d); `addTail` (`mulTail`) the last n % 4 values.

struct Params { n: u32 }
override WG_X: u32 = 256;
override VEC4S: u32;

@group(0) @binding(0) var<storage, read> a4: array<vec4f>;
@group(0) @binding(1) var<storage, read> b4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG_X)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let first = (gid.x + gid.y * groups.x * WG_X) * VEC4S;
  for (var k = 0u; k < VEC4S; k++) {
    let i = first + k;
    if (i < p.n / 4u) { y4[i] = a4[i] + b4[i]; }
  }
}

@compute @workgroup_size(WG_X)
fn mul(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let first = (gid.x + gid.y * groups.x * WG_X) * VEC4S;
  for (var k = 0u; k < VEC4S; k++) {
    let i = first + k;
    if (i < p.n / 4u) { y4[i] = a4[i] * b4[i]; }
  }
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG_X)
fn addTail(@builtin(global_invocation_id) gid: vec3u) {
  let i = (p.n & ~3u) + gid.x;
  if (i < p.n) { y[i] = a[i] + b[i]; }
}

@compute @workgroup_size(WG_X)
fn mulTail(@builtin(global_invocation_id) gid: vec3u) {
  let i = (p.n & ~3u) + gid.x;
  if (i < p.n) { y[i] = a[i] * b[i]; }
}
