// 2-D convolution as implicit GEMMs (no im2col buffer), portable: plain vec4
// loads and register blocking, for adapters without a fixed subgroup size;
// shaders/conv2d-subgroups.wgsl holds the faster subgroup kernels of the same
// GEMMs and shares this file's packing and reduction kernels. 'same' padding,
// stride 1, odd K, P = (K − 1)/2, pixels m = (n·H + h)·W + w.
//
// The GEMM kernels read channels as vec4s: the dispatcher pads a channel
// count that is not a multiple of 4 with zeros (padChannels, packWeights) and
// crops the result. In vec4 units:
//   conv2dForward, conv2dBackwardInput (one GEMM, M = N·H·W pixels, B4
//   vec4 columns, reduction over (kh, kw, a)):
//     a    N×H×W×A4        x for forward; dy for the input gradient
//     wk   K×K×(A4·4)×B4   w; for the input gradient w flipped and transposed
//     bias B4              forward only
//     out  N×H×W×B4        y; dx
//   out[m, b] = bias[b] + Σ_{kh,kw,a} a[m + (kh − P)·W + (kw − P), a] · wk[kh,kw,a,b]
//   (reads outside the image are zero). One invocation computes 8 pixels × 2
//   vec4 columns.
//
//   conv2dBackwardFilter (M = K·K·C4 quads of 4 rows (kh, kw, c), F4 vec4
//   columns, reduction over the pixels of one chunk):
//     x        N×H×W×C4    dy  N×H×W×F4
//     partial  splits×(K·K·C4·4 + 1)×F4: per chunk, Σ x[m shifted by (kh,kw), c]·dy[m, f]
//              and a last row Σ dy[m, f] (for db)
//   One invocation computes 2 quads × 2 vec4 columns over one chunk;
//   reduceFilterPartials then adds the chunks in a fixed order.

override WG_X: u32 = 64;

struct Gemm { N: u32, H: u32, W: u32, K: u32, A4: u32, B4: u32 }
struct Filter { N: u32, H: u32, W: u32, K: u32, C4: u32, F4: u32, chunk: u32 }

alias Tile = array<array<vec4f, 2>, 8>;

fn flat(gid: vec3u, groups: vec3u) -> u32 { return gid.x + gid.y * groups.x * WG_X; }

@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> wk: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
@group(0) @binding(4) var<uniform> forwardShape: Gemm;
@group(0) @binding(3) var<uniform> inputShape: Gemm;

// The implicit GEMM for pixels row0 … row0 + 7 and vec4 columns col0, col0 + 1
// (clamped: store drops what is outside).
fn implicitGemm(s: Gemm, row0: u32, col0: u32) -> Tile {
  let M = s.N * s.H * s.W;
  let P = i32(s.K / 2u);
  let c0 = min(col0, s.B4 - 1u);
  let c1 = min(col0 + 1u, s.B4 - 1u);
  var h: array<i32, 8>;
  var w: array<i32, 8>;
  var base: array<i32, 8>;
  for (var j = 0u; j < 8u; j++) {
    let m = min(row0 + j, M - 1u);
    w[j] = i32(m % s.W);
    h[j] = i32((m / s.W) % s.H);
    base[j] = i32(m);
  }
  var acc: Tile;
  for (var kh = 0; kh < i32(s.K); kh++) {
    for (var kw = 0; kw < i32(s.K); kw++) {
      var src: array<u32, 8>;
      var inside: array<bool, 8>;
      for (var j = 0u; j < 8u; j++) {
        let ih = h[j] + kh - P;
        let iw = w[j] + kw - P;
        inside[j] = ih >= 0 && ih < i32(s.H) && iw >= 0 && iw < i32(s.W);
        src[j] = select(0u, u32(base[j] + (kh - P) * i32(s.W) + kw - P) * s.A4, inside[j]);
      }
      let k0 = u32(kh * i32(s.K) + kw) * s.A4 * 4u;
      for (var a4 = 0u; a4 < s.A4; a4++) {
        let k = k0 + 4u * a4;
        let b0 = mat4x4f(wk[k * s.B4 + c0], wk[(k + 1u) * s.B4 + c0], wk[(k + 2u) * s.B4 + c0], wk[(k + 3u) * s.B4 + c0]);
        let b1 = mat4x4f(wk[k * s.B4 + c1], wk[(k + 1u) * s.B4 + c1], wk[(k + 2u) * s.B4 + c1], wk[(k + 3u) * s.B4 + c1]);
        for (var j = 0u; j < 8u; j++) {
          let v = select(vec4f(0.0), a[src[j] + a4], inside[j]);
          acc[j][0] += b0 * v;
          acc[j][1] += b1 * v;
        }
      }
    }
  }
  return acc;
}

fn store(s: Gemm, row0: u32, col0: u32, acc: Tile, add: array<vec4f, 2>) {
  let M = s.N * s.H * s.W;
  for (var j = 0u; j < 8u; j++) {
    for (var i = 0u; i < 2u; i++) {
      if (row0 + j < M && col0 + i < s.B4) { out[(row0 + j) * s.B4 + col0 + i] = acc[j][i] + add[i]; }
    }
  }
}

// The invocation's 8 pixels and 2 columns; false when it has none.
fn gemmBlock(s: Gemm, gid: vec3u, groups: vec3u, row0: ptr<function, u32>, col0: ptr<function, u32>) -> bool {
  let colPairs = (s.B4 + 1u) / 2u;
  let i = flat(gid, groups);
  *row0 = (i / colPairs) * 8u;
  *col0 = (i % colPairs) * 2u;
  return *row0 < s.N * s.H * s.W;
}

@compute @workgroup_size(WG_X)
fn conv2dForward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let s = forwardShape;
  var row0: u32;
  var col0: u32;
  if (!gemmBlock(s, gid, groups, &row0, &col0)) { return; }
  let add = array(bias[min(col0, s.B4 - 1u)], bias[min(col0 + 1u, s.B4 - 1u)]);
  store(s, row0, col0, implicitGemm(s, row0, col0), add);
}

@compute @workgroup_size(WG_X)
fn conv2dBackwardInput(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let s = inputShape;
  var row0: u32;
  var col0: u32;
  if (!gemmBlock(s, gid, groups, &row0, &col0)) { return; }
  store(s, row0, col0, implicitGemm(s, row0, col0), array(vec4f(0.0), vec4f(0.0)));
}

@group(0) @binding(0) var<storage, read> fx: array<vec4f>;
@group(0) @binding(1) var<storage, read> fdy: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> partial: array<vec4f>;
@group(0) @binding(3) var<uniform> filterShape: Filter;

@compute @workgroup_size(WG_X)
fn conv2dBackwardFilter(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let s = filterShape;
  let M = s.N * s.H * s.W;
  let quads = s.K * s.K * s.C4;
  let colPairs = (s.F4 + 1u) / 2u;
  let quadPairs = (quads + 1u) / 2u;
  let i = flat(gid, groups);
  let col0 = (i % colPairs) * 2u;
  let quad0 = ((i / colPairs) % quadPairs) * 2u;
  let split = i / (colPairs * quadPairs);
  if (split * s.chunk >= M) { return; }
  let P = i32(s.K / 2u);
  var kh: array<i32, 2>;
  var kw: array<i32, 2>;
  var shift: array<i32, 2>;
  for (var g = 0u; g < 2u; g++) {
    let q = min(quad0 + g, quads - 1u);
    kw[g] = i32((q / s.C4) % s.K);
    kh[g] = i32(q / (s.C4 * s.K));
    shift[g] = ((kh[g] - P) * i32(s.W) + kw[g] - P) * i32(s.C4) + i32(q % s.C4);
  }
  let col = array(min(col0, s.F4 - 1u), min(col0 + 1u, s.F4 - 1u));

  var acc: array<array<mat4x4f, 2>, 2>;
  var db: array<vec4f, 2>;
  let end = min((split + 1u) * s.chunk, M);
  for (var m0 = split * s.chunk; m0 < end; m0 += 4u) {
    var x: array<array<vec4f, 4>, 2>;
    var dy: array<array<vec4f, 4>, 2>;
    for (var p = 0u; p < 4u; p++) {
      let m = min(m0 + p, end - 1u);
      let h = i32((m / s.W) % s.H);
      let w = i32(m % s.W);
      for (var g = 0u; g < 2u; g++) {
        let ih = h + kh[g] - P;
        let iw = w + kw[g] - P;
        let inside = ih >= 0 && ih < i32(s.H) && iw >= 0 && iw < i32(s.W);
        x[g][p] = select(vec4f(0.0), fx[u32(select(0, i32(m * s.C4) + shift[g], inside))], inside);
      }
      for (var c = 0u; c < 2u; c++) {
        dy[c][p] = select(vec4f(0.0), fdy[m * s.F4 + col[c]], m0 + p < end);
        db[c] += dy[c][p];
      }
    }
    for (var g = 0u; g < 2u; g++) {
      let xt = transpose(mat4x4f(x[g][0], x[g][1], x[g][2], x[g][3]));
      for (var c = 0u; c < 2u; c++) { acc[g][c] += mat4x4f(dy[c][0], dy[c][1], dy[c][2], dy[c][3]) * xt; }
    }
  }

  let rows = quads * 4u;
  let at = split * (rows + 1u);
  for (var c = 0u; c < 2u; c++) {
    if (col0 + c >= s.F4) { continue; }
    for (var g = 0u; g < 2u; g++) {
      if (quad0 + g >= quads) { continue; }
      for (var r = 0u; r < 4u; r++) { partial[(at + (quad0 + g) * 4u + r) * s.F4 + col0 + c] = acc[g][c][r]; }
    }
    if (quad0 == 0u) { partial[(at + rows) * s.F4 + col0 + c] = db[c]; }
  }
}

// dw[kh,kw,c,f] = Σ_split partial[split, (kh,kw,c), f] and db[f] = Σ_split
// partial[split, last row, f], in split order (deterministic); one invocation
// per element of dw then db, reading the padded layout and writing the real one.
struct Reduce { K: u32, C: u32, F: u32, C4: u32, F4: u32, splits: u32 }
@group(0) @binding(0) var<storage, read> parts: array<f32>;
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;
@group(0) @binding(3) var<uniform> red: Reduce;

@compute @workgroup_size(WG_X)
fn reduceFilterPartials(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flat(gid, groups);
  let dwSize = red.K * red.K * red.C * red.F;
  if (i >= dwSize + red.F) { return; }
  let rows = red.K * red.K * red.C4 * 4u;
  let f = select(i % red.F, i - dwSize, i >= dwSize);
  let c = (i / red.F) % red.C;
  let row = select((i / (red.F * red.C)) * red.C4 * 4u + c, rows, i >= dwSize);
  var sum = 0.0;
  for (var split = 0u; split < red.splits; split++) { sum += parts[(split * (rows + 1u) + row) * red.F4 * 4u + f]; }
  if (i < dwSize) { dw[i] = sum; } else { db[f] = sum; }
}

// dst[r, c] = src[r, c] for c < srcC, 0 beyond: pads channels to a multiple
// of 4 (or crops them back). src rows×srcC, dst rows×dstC; one invocation per
// dst element.
struct Channels { rows: u32, srcC: u32, dstC: u32 }
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> ch: Channels;

@compute @workgroup_size(WG_X)
fn padChannels(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flat(gid, groups);
  if (i >= ch.rows * ch.dstC) { return; }
  let c = i % ch.dstC;
  dst[i] = select(0.0, src[(i / ch.dstC) * ch.srcC + min(c, ch.srcC - 1u)], c < ch.srcC);
}

// The GEMM's weight operand, K×K×R4×S4 with zeros beyond R×S:
//   flip = 0: wk[kh,kw,r,s] = w[kh,kw,r,s] (w K×K×R×S; forward, R = C, S = F)
//   flip = 1: wk[kh,kw,r,s] = w[K−1−kh, K−1−kw, s, r] (w K×K×S×R; the input
//   gradient is a forward convolution of dy with this kernel, R = F, S = C)
struct Pack { K: u32, R: u32, S: u32, R4: u32, S4: u32, flip: u32 }
@group(0) @binding(0) var<storage, read> wsrc: array<f32>;
@group(0) @binding(1) var<storage, read_write> wdst: array<f32>;
@group(0) @binding(2) var<uniform> pk: Pack;

@compute @workgroup_size(WG_X)
fn packWeights(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flat(gid, groups);
  let R = pk.R4 * 4u;
  let S = pk.S4 * 4u;
  if (i >= pk.K * pk.K * R * S) { return; }
  let s = i % S;
  let r = (i / S) % R;
  let kw = (i / (S * R)) % pk.K;
  let kh = i / (S * R * pk.K);
  if (r >= pk.R || s >= pk.S) {
    wdst[i] = 0.0;
  } else if (pk.flip == 0u) {
    wdst[i] = wsrc[((kh * pk.K + kw) * pk.R + r) * pk.S + s];
  } else {
    wdst[i] = wsrc[(((pk.K - 1u - kh) * pk.K + pk.K - 1u - kw) * pk.S + s) * pk.R + r];
  }
}
