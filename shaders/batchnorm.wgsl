// Batch normalisation (Keras BatchNormalization, channels last) and the
// moving averages of its statistics.
//   x, dy, y, dx: n = M·C float32 values, M rows of C channels, row-major
//     (N×H×W×C or N×C); value v's channel is v mod C
//   center, variance, gamma, beta, dgamma, dbeta, moving, value: C values
//     (center: the mean that is subtracted, or x's first row, see below)
//   partials, sums: chunks × P mat2x4f, a pair of vec4 partial sums per chunk
//     and slot (below)
//
// Slots: read as vec4s, x's vec4 i holds channels (4i + 0..3) mod C, which
// recur every P = C/gcd(C, 4) vec4s (4·P values are whole rows): vec4 i is in
// slot i mod P, and block b is vec4s [b·P, b·P + P), one of each slot. The
// kernels over x run workgroups of WG_X slots (min(P, 256)) × WG_Y lanes (a
// power of two), so that an invocation looks up its four channels' parameters
// once and then streams whole vec4s of its slot, consecutive invocations
// reading consecutive vec4s, for any C and without an integer division
// (lavapipe's per-lane lookups and divisions cost several times the
// streaming itself).
//
// Per-channel sums over the M rows run in two stages, each in a fixed order,
// so that a result repeats bit for bit:
//   1. centredSums, gradientSums: workgroup (chunk, g) covers blocks
//      [chunk·chunkBlocks, +chunkBlocks) of slots [g·WG_X, +WG_X); lane j
//      adds its slot of blocks j, j + WG_Y, j + 2·WG_Y, …, where the lanes of
//      x's last vec4 past its n values add 0. A tree over the lanes in
//      workgroup memory leaves one pair per (chunk, slot).
//   2. statisticsFinal, gradientFinal: one invocation per channel c adds, for
//      each chunk in order, the vec4 lanes that hold c (4·slot + lane ≡ c mod
//      C); the dispatcher keeps chunks ≤ 1024.
// The statistics are two-pass: both stages run centred on x's first row (x is
// bound as its own center), which gives a mean, then centred on that mean,
// which gives the variance as (Σd² − (Σd)²/M)/M with d = x − mean, free of
// the cancellation of E[x²] − E[x]² when |mean| ≫ std, and refines the mean
// by Σd/M. The gradient's pass sums dy and dy·(x − mean).
// forward, inputGradient: invocation (slot, y) takes its slot of blocks
// y·VEC4S … y·VEC4S + VEC4S − 1; the *Tail entry points then do the last
// n mod 4 values, one invocation each.
// movingAverage: one invocation per value, a 1-D index folded over x and y of
// the grid (dispatch1d).

override WG_X: u32 = 64;
override WG_Y: u32 = 1;
override VEC4S: u32;

struct Reduction {
  n: u32,
  c: u32,
  period: u32,      // P
  chunkBlocks: u32, // blocks per workgroup of stage 1, a multiple of WG_Y
  chunks: u32,
  epsilon: f32,     // gradientFinal's; 0 for the statistics
}

@group(0) @binding(0) var<storage, read> x4: array<vec4f>;
@group(0) @binding(1) var<storage, read> center: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<mat2x4f>;
@group(0) @binding(3) var<uniform> centred: Reduction; // centredSums
@group(0) @binding(3) var<storage, read> dy4: array<vec4f>; // gradientSums, inputGradient
@group(0) @binding(4) var<uniform> r: Reduction; // gradientSums and stage 2

var<workgroup> tile: array<mat2x4f, WG_X * WG_Y>;

// The channels of slot q's values, (4q + 0..3) mod C: 4q + 3 < 4P ≤ 4C, so
// that three conditional subtractions do.
fn channels4(q: u32, c: u32) -> vec4u {
  var v = 4u * q + vec4u(0u, 1u, 2u, 3u);
  for (var k = 0u; k < 3u; k++) { v -= select(vec4u(0u), vec4u(c), v >= vec4u(c)); }
  return v;
}

fn center4(ch: vec4u) -> vec4f { return vec4f(center[ch.x], center[ch.y], center[ch.z], center[ch.w]); }

// Which lanes of vec4 i are among x's n values.
fn inside(i: u32, n: u32) -> vec4<bool> { return 4u * i + vec4u(0u, 1u, 2u, 3u) < vec4u(n); }

// An invocation's slot (clamped to the last for one past them, which then
// adds nothing) and its blocks first, first + WG_Y, … below end.
struct Lane { slot: u32, first: u32, end: u32 }

fn laneOf(q: Reduction, lid: vec3u, wid: vec3u) -> Lane {
  let slot = wid.y * WG_X + lid.x;
  let start = wid.x * q.chunkBlocks;
  return Lane(min(slot, q.period - 1u), start + lid.y, select(0u, start + q.chunkBlocks, slot < q.period));
}

// Adds each slot's lanes in a fixed tree and writes the workgroup's pair for
// each of its slots.
fn reduceTile(q: Reduction, lid: vec3u, wid: vec3u, s: mat2x4f) {
  let t = lid.y * WG_X + lid.x;
  tile[t] = s;
  workgroupBarrier();
  for (var half = WG_Y / 2u; half > 0u; half >>= 1u) {
    if (lid.y < half) { tile[t] += tile[t + half * WG_X]; }
    workgroupBarrier();
  }
  let slot = wid.y * WG_X + lid.x;
  if (lid.y == 0u && slot < q.period) { partials[wid.x * q.period + slot] = tile[t]; }
}

// Σd and Σd² with d = x − center.
@compute @workgroup_size(WG_X, WG_Y)
fn centredSums(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let lane = laneOf(centred, lid, wid);
  let c4 = center4(channels4(lane.slot, centred.c));
  var s = mat2x4f();
  for (var b = lane.first; b < lane.end; b += WG_Y) {
    let i = b * centred.period + lane.slot;
    if (4u * i >= centred.n) { break; }
    let d = select(vec4f(0.0), x4[i] - c4, inside(i, centred.n));
    s += mat2x4f(d, d * d);
  }
  reduceTile(centred, lid, wid, s);
}

// Σdy and Σdy·(x − center), center the batch mean.
@compute @workgroup_size(WG_X, WG_Y)
fn gradientSums(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let lane = laneOf(r, lid, wid);
  let c4 = center4(channels4(lane.slot, r.c));
  var s = mat2x4f();
  for (var b = lane.first; b < lane.end; b += WG_Y) {
    let i = b * r.period + lane.slot;
    if (4u * i >= r.n) { break; }
    let valid = inside(i, r.n);
    let g = select(vec4f(0.0), dy4[i], valid);
    s += mat2x4f(g, g * select(vec4f(0.0), x4[i] - c4, valid));
  }
  reduceTile(r, lid, wid, s);
}

@group(0) @binding(0) var<storage, read> sums: array<mat2x4f>;
// statisticsFinal (center as above)
@group(0) @binding(2) var<storage, read_write> meanOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> varianceOut: array<f32>;
// gradientFinal
@group(0) @binding(1) var<storage, read> batchVariance: array<f32>;
@group(0) @binding(2) var<storage, read_write> dgammaOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> dbetaOut: array<f32>;

fn channelSum(c: u32) -> vec2f {
  var s = vec2f(0.0);
  for (var k = 0u; k < r.chunks; k++) {
    for (var v = c; v < 4u * r.period; v += r.c) {
      let p = sums[k * r.period + v / 4u];
      s += vec2f(p[0][v % 4u], p[1][v % 4u]);
    }
  }
  return s;
}

@compute @workgroup_size(WG_X)
fn statisticsFinal(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= r.c) { return; }
  let s = channelSum(c);
  let m = f32(r.n / r.c);
  meanOut[c] = center[c] + s.x / m;
  // Never negative in exact arithmetic; rounding can take a near-constant
  // channel's below 0, and a moving variance must not follow it there.
  varianceOut[c] = max((s.y - s.x * s.x / m) / m, 0.0);
}

// dbeta = Σdy, dgamma = Σdy·x̂ = Σdy·(x − mean)/√(variance + ε).
@compute @workgroup_size(WG_X)
fn gradientFinal(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= r.c) { return; }
  let s = channelSum(c);
  dbetaOut[c] = s.x;
  dgammaOut[c] = s.y * inverseSqrt(batchVariance[c] + r.epsilon);
}

// forward and inputGradient (count = M, for inputGradient).
struct Elementwise { n: u32, c: u32, period: u32, epsilon: f32, count: f32 }

// forward: y = (x − mean)·scale + beta, scale = gamma/√(variance + ε).
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> variance: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> y4: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<uniform> fp: Elementwise;

fn forwardCoefficients(k: u32) -> vec3f {
  return vec3f(center[k], gamma[k] * inverseSqrt(variance[k] + fp.epsilon), beta[k]);
}

// Columns mean, scale, beta of four channels.
fn forwardLanes(ch: vec4u) -> mat3x4f {
  return transpose(mat4x3f(forwardCoefficients(ch.x), forwardCoefficients(ch.y), forwardCoefficients(ch.z), forwardCoefficients(ch.w)));
}

fn normalized(v: vec4f, t: mat3x4f) -> vec4f { return (v - t[0]) * t[1] + t[2]; }

@compute @workgroup_size(WG_X, WG_Y)
fn forward(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= fp.period) { return; }
  let t = forwardLanes(channels4(gid.x, fp.c));
  for (var j = 0u; j < VEC4S; j++) {
    let i = (gid.y * VEC4S + j) * fp.period + gid.x;
    if (i < fp.n / 4u) { y4[i] = normalized(x4[i], t); }
  }
}

@compute @workgroup_size(WG_X)
fn forwardTail(@builtin(global_invocation_id) gid: vec3u) {
  let i = (fp.n & ~3u) + gid.x;
  if (i < fp.n) { y[i] = normalized(vec4f(x[i]), forwardLanes(vec4u(i % fp.c))).x; }
}

// inputGradient, through the batch statistics too (center is the batch
// mean): dx = s·(dy − (dbeta + x̂·dgamma)/M) with s = gamma/√(variance + ε),
// that is s·dy − a − (x − mean)·b with a = s·dbeta/M, b = s·dgamma/(M·√(variance + ε)).
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read> dbeta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx4: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
@group(0) @binding(8) var<uniform> bp: Elementwise;

fn backwardCoefficients(k: u32) -> vec4f {
  let invStd = inverseSqrt(variance[k] + bp.epsilon);
  let s = gamma[k] * invStd;
  return vec4f(center[k], s, s * dbeta[k] / bp.count, s * invStd * dgamma[k] / bp.count);
}

// Columns mean, s, a, b of four channels.
fn backwardLanes(ch: vec4u) -> mat4x4f {
  return transpose(mat4x4f(backwardCoefficients(ch.x), backwardCoefficients(ch.y), backwardCoefficients(ch.z), backwardCoefficients(ch.w)));
}

fn inputGrad(v: vec4f, g: vec4f, t: mat4x4f) -> vec4f { return t[1] * g - t[2] - (v - t[0]) * t[3]; }

@compute @workgroup_size(WG_X, WG_Y)
fn inputGradient(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= bp.period) { return; }
  let t = backwardLanes(channels4(gid.x, bp.c));
  for (var j = 0u; j < VEC4S; j++) {
    let i = (gid.y * VEC4S + j) * bp.period + gid.x;
    if (i < bp.n / 4u) { dx4[i] = inputGrad(x4[i], dy4[i], t); }
  }
}

@compute @workgroup_size(WG_X)
fn inputGradientTail(@builtin(global_invocation_id) gid: vec3u) {
  let i = (bp.n & ~3u) + gid.x;
  if (i < bp.n) { dx[i] = inputGrad(vec4f(x[i]), vec4f(dy[i]), backwardLanes(vec4u(i % bp.c))).x; }
}

// movingAverage, in place: moving = momentum·moving + weight·value, where the
// host folds weight = (1 − momentum)·scale in float64.
struct MovingAverage { n: u32, momentum: f32, weight: f32 }
@group(0) @binding(0) var<storage, read_write> moving: array<f32>;
@group(0) @binding(1) var<storage, read> value: array<f32>;
@group(0) @binding(2) var<uniform> mp: MovingAverage;

@compute @workgroup_size(WG_X)
fn movingAverage(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG_X;
  if (i < mp.n) { moving[i] = mp.momentum * moving[i] + mp.weight * value[i]; }
}
