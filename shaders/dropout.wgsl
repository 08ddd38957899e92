// Inverted dropout, after TF's nn.dropout: keep an element where its uniform
// draw u satisfies u ≥ rate, scale kept elements by 1/(1 − rate), zero the rest.
//   x, y: n float32 values (any layout: the mask is indexed by flat element index)
// One invocation per element, a 1-D index folded over x and y of the grid
// (dispatch1d). Forward (x → y) and backward (dy → dx) are the same
// masked scaling: the Jacobian is diagonal, mask·scale, and the mask is
// recomputed from (seed, step, i) rather than stored.
//
// The draw is a counter-based RNG: the PCG hash of Jarzynski & Olano, "Hash
// Functions for GPU Rendering", JCGT 9(3), 2020, chained over (seed, step) for
// a key and then over key + i. src/kernels/dropout.ref.ts computes the same u32
// with Math.imul, so CPU and GPU masks agree bit for bit. "u ≥ rate" is the
// integer test bits ≥ threshold = ⌊rate·2^32⌋, made on the host.

struct Params { n: u32, threshold: u32, scale: f32, seed: u32, step: u32 }
override WG_X: u32 = 256;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// A bijection of u32 (u32 arithmetic wraps).
fn pcgHash(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn dropoutBits(seed: u32, step: u32, i: u32) -> u32 {
  return pcgHash(pcgHash(pcgHash(seed) ^ step) + i);
}

@compute @workgroup_size(WG_X)
fn dropout(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG_X;
  if (i >= p.n) { return; }
  let keep = dropoutBits(p.seed, p.step, i) >= p.threshold;
  y[i] = select(0.0, x[i] * p.scale, keep);
}
