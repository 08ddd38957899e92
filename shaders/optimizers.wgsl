// Keras 2 RMSprop and Adam updates, in place, elementwise over one parameter
// tensor (Keras 2.3 keras/optimizers.py, RMSprop.get_updates and Adam.get_updates).
//   param, grad, acc, m, v: n float32 values, all in the parameter's own layout
// One invocation per element, a 1-D index folded over x and y of the grid
// (dispatch1d): the dense layer's 1.3M-element kernel and larger fit.

override WG_X: u32 = 256;

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;

// acc = rho·acc + (1 − rho)·g²;  param −= lr·g/(√acc + epsilon)
struct RmspropParams { n: u32, lr: f32, rho: f32, epsilon: f32 }
@group(0) @binding(2) var<storage, read_write> acc: array<f32>;
@group(0) @binding(3) var<uniform> rp: RmspropParams;

@compute @workgroup_size(WG_X)
fn rmspropUpdate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG_X;
  if (i >= rp.n) { return; }
  let g = grad[i];
  let a = rp.rho * acc[i] + (1.0 - rp.rho) * g * g;
  acc[i] = a;
  param[i] -= rp.lr * g / (sqrt(a) + rp.epsilon);
}

// m = beta1·m + (1 − beta1)·g;  v = beta2·v + (1 − beta2)·g²;
// param −= lrT·m/(√v + epsilon), where the host computes the bias-corrected
// step size lrT = lr·√(1 − beta2^t)/(1 − beta1^t) in float64 each step.
struct AdamParams { n: u32, lrT: f32, beta1: f32, beta2: f32, epsilon: f32 }
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> ap: AdamParams;

@compute @workgroup_size(WG_X)
fn adamUpdate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG_X;
  if (i >= ap.n) { return; }
  let g = grad[i];
  let mi = ap.beta1 * m[i] + (1.0 - ap.beta1) * g;
  let vi = ap.beta2 * v[i] + (1.0 - ap.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] -= ap.lrT * mi / (sqrt(vi) + ap.epsilon);
}
