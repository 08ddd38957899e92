// Leaky ReLU (ReLU is alpha = 0) and tanh with their gradients, the sigmoid's
// gradient, elementwise over any shape, and the gradient of softmax over the
// last axis. The sigmoid and softmax themselves are cross-entropy.wgsl's
// inference entry points, which compute exactly these.
//   x, dy, y, dx: n float32 values (any layout; the op is elementwise), for
//     softmaxBackward rows × c row-major, the softmax axis last
// The gradients of tanh, the sigmoid and softmax take the activation's output
// y (which autograd keeps) where Leaky ReLU's takes x.
// The elementwise entry points read and write the first ⌊n/4⌋ vec4s, VEC4S
// consecutive vec4s per invocation, on a 1-D index folded over x and y of
// the grid (dispatch1d); the *Tail entry points then do the last
// n % 4 values, one invocation each. lavapipe loads lane by lane, so one
// vec4 load costs about half of four scalar ones, and several vec4s per
// invocation share its fixed cost: at the model's batch-64 shapes, about
// 3.5× faster than one value per invocation.
// softmaxBackward: one invocation per row, which loops over its c values (the
// channels of an activation: a loop is enough).

// alpha is Leaky ReLU's; tanhForward passes n alone.
struct Params { n: u32, alpha: f32 }
override WG_X: u32 = 256;
override VEC4S: u32;

fn leakyRelu(v: vec4f, alpha: f32) -> vec4f { return select(alpha * v, v, v > vec4f(0.0)); }

// dx = dy where x > 0, alpha * dy elsewhere (the kink at 0 takes the alpha side, as TF).
fn leakyReluGrad(v: vec4f, g: vec4f, alpha: f32) -> vec4f { return select(alpha * g, g, v > vec4f(0.0)); }

// The first vec4 of an invocation of the main entry points.
fn firstVec4(gid: vec3u, groups: vec3u) -> u32 { return (gid.x + gid.y * groups.x * WG_X) * VEC4S; }

// The value of a *Tail invocation: the ones past the last whole vec4.
fn tailIndex(gid: vec3u, n: u32) -> u32 { return (n & ~3u) + gid.x; }

@group(0) @binding(0) var<storage, read> x4: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> y4: array<vec4f>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG_X)
fn leakyReluForward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let first = firstVec4(gid, groups);
  for (var k = 0u; k < VEC4S; k++) {
    let i = first + k;
    if (i < p.n / 4u) { y4[i] = leakyRelu(x4[i], p.alpha); }
  }
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG_X)
fn leakyReluForwardTail(@builtin(global_invocation_id) gid: vec3u) {
  let i = tailIndex(gid, p.n);
  if (i < p.n) { y[i] = leakyRelu(vec4f(x[i]), p.alpha).x; }
}

@group(0) @binding(0) var<storage, read> bx4: array<vec4f>;
@group(0) @binding(1) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> dx4: array<vec4f>;
@group(0) @binding(3) var<uniform> bp: Params;

@compute @workgroup_size(WG_X)
fn leakyReluBackward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let first = firstVec4(gid, groups);
  for (var k = 0u; k < VEC4S; k++) {
    let i = first + k;
    if (i < bp.n / 4u) { dx4[i] = leakyReluGrad(bx4[i], dy4[i], bp.alpha); }
  }
}

@group(0) @binding(0) var<storage, read> bx: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG_X)
fn leakyReluBackwardTail(@builtin(global_invocation_id) gid: vec3u) {
  let i = tailIndex(gid, bp.n);
  if (i < bp.n) { dx[i] = leakyReluGrad(vec4f(bx[i]), vec4f(dy[i]), bp.alpha).x; }
}

// WGSL's tanh may be computed as sinh/cosh, whose exponentials overflow to
// ∞/∞ past |x| ≈ 89; tanh(±10) already rounds to ±1 in float32.
fn tanh4(v: vec4f) -> vec4f { return tanh(clamp(v, vec4f(-10.0), vec4f(10.0))); }

@compute @workgroup_size(WG_X)
fn tanhForward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let first = firstVec4(gid, groups);
  for (var k = 0u; k < VEC4S; k++) {
    let i = first + k;
    if (i < p.n / 4u) { y4[i] = tanh4(x4[i]); }
  }
}

@compute @workgroup_size(WG_X)
fn tanhForwardTail(@builtin(global_invocation_id) gid: vec3u) {
  let i = tailIndex(gid, p.n);
  if (i < p.n) { y[i] = tanh4(vec4f(x[i])).x; }
}

// outputBackward: dx = dy·f'(x) from y = f(x), tanh' = 1 − y², σ' = y·(1 − y).
struct FromOutput { n: u32, sigmoid: u32 }
@group(0) @binding(0) var<storage, read> by4: array<vec4f>;
@group(0) @binding(3) var<uniform> op: FromOutput;

fn fromOutput(v: vec4f, g: vec4f) -> vec4f { return g * select(1.0 - v * v, v * (1.0 - v), op.sigmoid != 0u); }

@compute @workgroup_size(WG_X)
fn outputBackward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let first = firstVec4(gid, groups);
  for (var k = 0u; k < VEC4S; k++) {
    let i = first + k;
    if (i < op.n / 4u) { dx4[i] = fromOutput(by4[i], dy4[i]); }
  }
}

@group(0) @binding(0) var<storage, read> by: array<f32>;

@compute @workgroup_size(WG_X)
fn outputBackwardTail(@builtin(global_invocation_id) gid: vec3u) {
  let i = tailIndex(gid, op.n);
  if (i < op.n) { dx[i] = fromOutput(vec4f(by[i]), vec4f(dy[i])).x; }
}

// softmaxBackward: dx = y·(dy − Σ_c dy·y) per row, the Jacobian
// ∂y_j/∂x_k = y_j·(δ_jk − y_k) applied to dy.
struct Rows { rows: u32, c: u32 }
@group(0) @binding(3) var<uniform> rp: Rows;

@compute @workgroup_size(WG_X)
fn softmaxBackward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let row = gid.x + gid.y * groups.x * WG_X;
  if (row >= rp.rows) { return; }
  let base = row * rp.c;
  var s = 0.0;
  for (var j = 0u; j < rp.c; j++) { s += dy[base + j] * by[base + j]; }
  for (var j = 0u; j < rp.c; j++) { dx[base + j] = by[base + j] * (dy[base + j] - s); }
}
