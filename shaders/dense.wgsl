// Dense layer: its three products as one GEMM, the split-K reduction that adds
// the bias, and the bias gradient. This file is the portable path (no
// subgroups); dense-subgroups.wgsl holds the faster GEMM for devices with
// subgroups, on the same bindings and helpers.
//
// Every product is C = A·B over a depth R, all matrices row-major:
//   forward           y  N×M = x N×K · w K×M      I=N, J=M, R=K
//   backward input    dx N×K = dy N×M · wᵀ        I=N, J=K, R=M  (B stored J×R: TRANS_B)
//   backward weights  dw K×M = xᵀ · dy N×M        I=K, J=M, R=N  (A stored R×I: TRANS_A)
//   a: A, I×R (R×I when TRANS_A), read as vec4s
//   b: B, R×J (J×R when TRANS_B), read as vec4s
//   c: S×I×J float32, S = num_workgroups.z; slice s sums r over its chunk
//      [s·chunk, (s+1)·chunk) ∩ [0, R). The forward splits its long depth
//      (K = 10,368 against N×M = 64×128 outputs) for parallelism; denseReduce
//      then adds the S slices in a fixed order, so results are deterministic.
// One invocation computes 8 rows × 4 columns of C, in vec4 accumulators.

struct Params { I: u32, J: u32, R: u32, chunk: u32 }
override WG_X: u32 = 8;
override WG_Y: u32 = 8;
// Whether a (b) is stored with rows a multiple of 4 long, so that a 4×4 block
// is four aligned vec4 loads.
override ALIGNED_A: bool;
override ALIGNED_B: bool;
override TRANS_A: bool;
override TRANS_B: bool;

@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> b: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// Rows row..row+3 × columns col..col+3 of a row-major matrix with `ld`
// columns, column t of the result holding row row+t. Cells at or past rowEnd
// or colEnd are zero, so ragged edges add nothing; such blocks, and matrices
// whose rows are not vec4-aligned, are gathered one element at a time.
fn blockA(row: u32, col: u32, rowEnd: u32, colEnd: u32, ld: u32) -> mat4x4f {
  if (ALIGNED_A && row + 3u < rowEnd && col + 3u < colEnd) {
    let q = (row * ld + col) / 4u;
    let s = ld / 4u;
    return mat4x4f(a[q], a[q + s], a[q + 2u * s], a[q + 3u * s]);
  }
  var m = mat4x4f();
  for (var t = 0u; t < 4u; t++) {
    for (var u = 0u; u < 4u; u++) {
      if (row + t < rowEnd && col + u < colEnd) {
        let e = (row + t) * ld + col + u;
        m[t][u] = a[e / 4u][e % 4u];
      }
    }
  }
  return m;
}

fn blockB(row: u32, col: u32, rowEnd: u32, colEnd: u32, ld: u32) -> mat4x4f {
  if (ALIGNED_B && row + 3u < rowEnd && col + 3u < colEnd) {
    let q = (row * ld + col) / 4u;
    let s = ld / 4u;
    return mat4x4f(b[q], b[q + s], b[q + 2u * s], b[q + 3u * s]);
  }
  var m = mat4x4f();
  for (var t = 0u; t < 4u; t++) {
    for (var u = 0u; u < 4u; u++) {
      if (row + t < rowEnd && col + u < colEnd) {
        let e = (row + t) * ld + col + u;
        m[t][u] = b[e / 4u][e % 4u];
      }
    }
  }
  return m;
}

// Column t: A(i+t, r..r+3).
fn operandA(i: u32, r: u32, rEnd: u32) -> mat4x4f {
  if (TRANS_A) { return transpose(blockA(r, i, rEnd, p.I, p.I)); }
  return blockA(i, r, p.I, rEnd, p.R);
}

// Column t: B(r+t, j..j+3), so that B·(A row's 4 values) is that row's
// contribution to C(i, j..j+3).
fn operandB(r: u32, j: u32, rEnd: u32) -> mat4x4f {
  if (TRANS_B) { return transpose(blockB(j, r, p.J, rEnd, p.R)); }
  return blockB(r, j, rEnd, p.J, p.J);
}

fn store(s: u32, i: u32, j: u32, v: vec4f) {
  if (i >= p.I) { return; }
  for (var u = 0u; u < 4u; u++) {
    if (j + u < p.J) { c[(s * p.I + i) * p.J + j + u] = v[u]; }
  }
}

// Workgroup tile: 8·WG_Y rows × 4·WG_X columns of one slice s = workgroup_id.z.
@compute @workgroup_size(WG_X, WG_Y)
fn gemm(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let i = (wid.y * WG_Y + lid.y) * 8u;
  let j = (wid.x * WG_X + lid.x) * 4u;
  if (i >= p.I || j >= p.J) { return; }
  let s = wid.z;
  let rEnd = min((s + 1u) * p.chunk, p.R);
  var acc: array<vec4f, 8>;
  for (var r = s * p.chunk; r < rEnd; r += 4u) {
    let bm = operandB(r, j, rEnd);
    let a0 = operandA(i, r, rEnd);
    let a1 = operandA(i + 4u, r, rEnd);
    for (var t = 0u; t < 4u; t++) {
      acc[t] += bm * a0[t];
      acc[t + 4u] += bm * a1[t];
    }
  }
  for (var t = 0u; t < 8u; t++) { store(s, i + t, j, acc[t]); }
}

// y = Σ_s partial[s] + bias, s in order: one invocation per element of the
// N×M output (count = N·M), folded over x and y of the grid (dispatch1d).
struct ReduceParams { count: u32, M: u32, S: u32 }

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> rp: ReduceParams;

@compute @workgroup_size(WG_X)
fn denseReduce(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG_X;
  if (i >= rp.count) { return; }
  var sum = 0.0;
  for (var s = 0u; s < rp.S; s++) { sum += partial[s * rp.count + i]; }
  y[i] = sum + bias[i % rp.M];
}

// db[m] = Σ_n dy[n][m], n in order: one invocation per m.
//   dy: N×M, db: M
struct BiasParams { N: u32, M: u32 }

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> db: array<f32>;
@group(0) @binding(2) var<uniform> bp: BiasParams;

@compute @workgroup_size(WG_X)
fn denseBiasGrad(@builtin(global_invocation_id) gid: vec3u) {
  let m = gid.x;
  if (m >= bp.M) { return; }
  var sum = 0.0;
  for (var n = 0u; n < bp.N; n++) { sum += dy[n * bp.M + m]; }
  db[m] = sum;
}
