// Softmax fused with categorical cross-entropy, and sigmoid fused with binary
// cross-entropy: forward probabilities and the gradient of the batch-mean loss
// in one pass; plus softmax and sigmoid alone, for inference. Two losses, by
// the override CLIPPED (cross-entropy.ts sets it):
//   false: from the logits, as tf.keras does for a softmax or sigmoid output
//     (from_logits): nothing is clipped, so a confident wrong answer keeps its
//     full gradient;
//   true: Keras 2.2's, probabilities clipped to [EPS, 1 − EPS] before the log
//     (backend categorical_crossentropy / binary_crossentropy), whose gradient
//     is zero wherever the clip took over.
//   logits, targets, probs, dlogits: N×C, row-major (C = 1 for the sigmoid)
// softmax*: one invocation per row n, which handles the row's C values (C is
//   2, 3 or 10 here: a loop is enough).
// sigmoid*: one invocation per element.
// All fold a 1-D index over x and y of the grid (dispatch1d).

struct Params { rows: u32, c: u32 }
const EPS: f32 = 1e-7;
override WG_X: u32 = 64;
override CLIPPED: bool = false;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> probs: array<f32>;
// The fused entry points (training).
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
// The forward-only entry points (inference).
@group(0) @binding(2) var<uniform> ip: Params;

fn flatIndex(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WG_X;
}

// probs[base, base + c) = softmax(logits[base, base + c)).
fn softmaxRow(base: u32, c: u32) {
  // The row max is subtracted only for numerical stability: exp never overflows.
  var maxval = logits[base];
  for (var j = 1u; j < c; j++) { maxval = max(maxval, logits[base + j]); }
  var sum = 0.0;
  for (var j = 0u; j < c; j++) {
    let e = exp(logits[base + j] - maxval);
    probs[base + j] = e;
    sum += e;
  }
  for (var j = 0u; j < c; j++) { probs[base + j] = probs[base + j] / sum; }
}

// σ(z) from exp(−|z|) only, so that a large |z| underflows to 0 instead of overflowing.
fn logistic(z: f32) -> f32 {
  let e = exp(-abs(z));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= 0.0);
}

// The clip's derivative: 0 where Keras 2.2's clip took over, else 1 (always
// 1 from the logits, which are never clipped).
fn clipGate(q: f32) -> f32 {
  return select(0.0, 1.0, !CLIPPED || (q >= EPS && q <= 1.0 - EPS));
}

@compute @workgroup_size(WG_X)
fn softmax(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let n = flatIndex(gid, groups);
  if (n >= ip.rows) { return; }
  softmaxRow(n * ip.c, ip.c);
}

@compute @workgroup_size(WG_X)
fn sigmoid(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flatIndex(gid, groups);
  if (i >= ip.rows * ip.c) { return; }
  probs[i] = logistic(logits[i]);
}

// Loss of row n: L = −Σ_c t_c·log(clip(p_c)), and the batch loss is mean_n L;
// from the logits, clip is the identity and L = Σ_c t_c·(logsumexp(z) − z_c).
// With g_c = clipGate(p_c) and ∂p_c/∂z_j = p_c(δ_cj − p_j):
//   ∂L/∂z_j = −Σ_c t_c·g_c·(δ_cj − p_j) = p_j·Σ_c t_c·g_c − t_j·g_j,
// which for a one-hot row (true class k) is g_k·(p_j − t_j): llm.c
// crossentropy_softmax_backward's (p − onehot), gated off when p_k was clipped.
@compute @workgroup_size(WG_X)
fn softmaxCrossEntropy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let n = flatIndex(gid, groups);
  if (n >= p.rows) { return; }
  let base = n * p.c;
  softmaxRow(base, p.c);
  var gatedTargets = 0.0; // Σ_c t_c·g_c
  for (var j = 0u; j < p.c; j++) { gatedTargets += targets[base + j] * clipGate(probs[base + j]); }
  let invN = 1.0 / f32(p.rows);
  for (var j = 0u; j < p.c; j++) {
    let q = probs[base + j];
    dlogits[base + j] = (q * gatedTargets - targets[base + j] * clipGate(q)) * invN;
  }
}

// Loss of element i: L = −[t·log(clip q) + (1 − t)·log(1 − clip q)], q = σ(z),
// mean over the N·C elements (Keras averages the last axis, then the batch);
// from the logits, the softplus form L = max(z, 0) − t·z + log(1 + e^−|z|).
// Unclipped, ∂L/∂q = (q − t)/(q(1 − q)) and ∂q/∂z = q(1 − q), so ∂L/∂z = q − t;
// where the clip took over, L is constant in z and the gradient is 0.
@compute @workgroup_size(WG_X)
fn sigmoidBinaryCrossEntropy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flatIndex(gid, groups);
  let count = p.rows * p.c;
  if (i >= count) { return; }
  let q = logistic(logits[i]);
  probs[i] = q;
  dlogits[i] = clipGate(q) * (q - targets[i]) / f32(count);
}
