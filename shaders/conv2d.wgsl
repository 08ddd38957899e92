// 2-D convolution as implicit GEMMs (no im2col buffer), portable: plain vec4
// loads and register blocking, for adapters where the subgroup kernels cannot run;
// shaders/conv2d-subgroups.wgsl holds the faster subgroup kernels of the same
// GEMMs and shares this file's packing and reduction kernels.
//
// TF's geometry (src/kernels/shapes.ts's window2d): an H×W input, a KH×KW
// kernel, strides SH, SW, an Ho×Wo output, output pixels
// m = (n·Ho + oh)·Wo + ow. Output pixel (oh, ow) and tap (kh, kw) read input
// row ih = oh·SH + kh − padTop and column iw = ow·SW + kw − padLeft; reads
// outside the image are zero.
//
// The GEMM kernels read channels as vec4s: the dispatcher pads a channel
// count that is not a multiple of 4 with zeros (padChannels, packWeights,
// dilate) and crops the result. In vec4 units:
//   conv2dForward (M = N·Ho·Wo pixels, B4 vec4 columns, reduction over
//   (kh, kw, i); the input gradient is this GEMM too, see conv2d.ts):
//     a    N×H×W×A4          x; for the input gradient dy (dilated under stride)
//     wk   KH×KW×(A4·4)×B4   w; for the input gradient w flipped and transposed
//     bias B4                b; for the input gradient zeros
//     out  N×Ho×Wo×B4        y; for the input gradient dx
//   out[m, j] = bias[j] + Σ_{kh,kw,i} a[n, ih, iw, i] · wk[kh,kw,i,j]. One
//   invocation computes PIXELS pixels × COLS vec4 columns.
//
//   conv2dBackwardFilter (KH·KW·C4 quads of 4 rows (kh, kw, c), F4 vec4
//   columns, reduction over the output pixels of one chunk):
//     x        N×H×W×C4    dy  N×Ho×Wo×F4
//     partial  splits×(KH·KW·C4·4 + 1)×F4: per chunk, Σ_m x[n, ih, iw, c]·dy[m, f]
//              and a last row Σ_m dy[m, f] (for db)
//   One invocation computes QUADS quads × COLS vec4 columns over one chunk;
//   reduceFilterPartials then adds the chunks in a fixed order.

override WG_X: u32 = 64;

// Pads are never negative: 'same' pads at most K − 1 in all, and the input
// gradient's K − 1 − pad likewise. The uniforms Gemm and Filter and the pixel
// walk are conv2d-geometry.wgsl's, compiled with this file.

// One invocation's block: PIXELS pixels × COLS vec4 columns of the forward
// GEMM, QUADS quads × COLS vec4 columns of the filter gradient. They size
// private arrays, which WGSL allows only for constants, not overrides: the
// dispatcher (src/kernels/conv2d.ts) prepends `const PIXELS = …u;` and the
// others to this file, so that it alone defines them.
alias Tile = array<array<vec4f, COLS>, PIXELS>;

fn flat(gid: vec3u, groups: vec3u) -> u32 { return gid.x + gid.y * groups.x * WG_X; }

@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> wk: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
@group(0) @binding(4) var<uniform> forwardShape: Gemm;

// The implicit GEMM for pixels row0 … row0 + PIXELS − 1 and vec4 columns
// col0 … col0 + COLS − 1 (loads are clamped inside the buffers; store drops
// what is outside the output).
fn implicitGemm(s: Gemm, row0: u32, col0: u32) -> Tile {
  let M = s.N * s.Ho * s.Wo;
  var col: array<u32, COLS>;
  for (var i = 0u; i < COLS; i++) { col[i] = min(col0 + i, s.B4 - 1u); }
  // Each pixel's input row, column and pixel index at tap (0, 0), which may
  // lie in the padding.
  var h: array<i32, PIXELS>;
  var w: array<i32, PIXELS>;
  var base: array<i32, PIXELS>;
  for (var j = 0u; j < PIXELS; j++) {
    let m = min(row0 + j, M - 1u);
    let ow = m % s.Wo;
    let rows = m / s.Wo;
    h[j] = i32((rows % s.Ho) * s.SH) - i32(s.padTop);
    w[j] = i32(ow * s.SW) - i32(s.padLeft);
    base[j] = (i32((rows / s.Ho) * s.H) + h[j]) * i32(s.W) + w[j];
  }
  var acc: Tile;
  // One flat loop over the reduction, (kh, kw, a4) stepped by hand: nested
  // loops cost lavapipe a spill of every accumulator at each inner-loop exit.
  var kh = 0;
  var kw = 0;
  var a4 = 0u;
  for (var step = 0u; step < s.KH * s.KW * s.A4; step++) {
    let k = step * 4u;
    var b: array<mat4x4f, COLS>;
    for (var i = 0u; i < COLS; i++) {
      b[i] = mat4x4f(wk[k * s.B4 + col[i]], wk[(k + 1u) * s.B4 + col[i]], wk[(k + 2u) * s.B4 + col[i]], wk[(k + 3u) * s.B4 + col[i]]);
    }
    let shift = kh * i32(s.W) + kw;
    for (var j = 0u; j < PIXELS; j++) {
      let ih = h[j] + kh;
      let iw = w[j] + kw;
      let inside = ih >= 0 && ih < i32(s.H) && iw >= 0 && iw < i32(s.W);
      let v = select(vec4f(0.0), a[select(0u, u32(base[j] + shift) * s.A4 + a4, inside)], inside);
      for (var i = 0u; i < COLS; i++) { acc[j][i] += b[i] * v; }
    }
    a4 += 1u;
    let nextKw = a4 == s.A4;
    a4 = select(a4, 0u, nextKw);
    kw = select(kw, kw + 1, nextKw);
    let nextKh = kw == i32(s.KW);
    kw = select(kw, 0, nextKh);
    kh = select(kh, kh + 1, nextKh);
  }
  return acc;
}

@compute @workgroup_size(WG_X)
fn conv2dForward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let s = forwardShape;
  let colBlocks = (s.B4 + COLS - 1u) / COLS;
  let t = flat(gid, groups);
  let row0 = (t / colBlocks) * PIXELS;
  let col0 = (t % colBlocks) * COLS;
  let M = s.N * s.Ho * s.Wo;
  if (row0 >= M) { return; }
  let acc = implicitGemm(s, row0, col0);
  for (var i = 0u; i < COLS; i++) {
    if (col0 + i >= s.B4) { break; }
    let add = bias[col0 + i];
    for (var j = 0u; j < PIXELS; j++) {
      if (row0 + j < M) { out[(row0 + j) * s.B4 + col0 + i] = acc[j][i] + add; }
    }
  }
}

@group(0) @binding(0) var<storage, read> fx: array<vec4f>;
@group(0) @binding(1) var<storage, read> fdy: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> partial: array<vec4f>;
@group(0) @binding(3) var<uniform> filterShape: Filter;

@compute @workgroup_size(WG_X)
fn conv2dBackwardFilter(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let s = filterShape;
  let M = s.N * s.Ho * s.Wo;
  let quads = s.KH * s.KW * s.C4;
  let colBlocks = (s.F4 + COLS - 1u) / COLS;
  let quadBlocks = (quads + QUADS - 1u) / QUADS;
  let t = flat(gid, groups);
  let col0 = (t % colBlocks) * COLS;
  let quad0 = ((t / colBlocks) % quadBlocks) * QUADS;
  let split = t / (colBlocks * quadBlocks);
  if (split * s.chunk >= M) { return; }
  // Each quad's tap (kh, kw) and where its x values sit relative to tap (0, 0)'s.
  var kh: array<i32, QUADS>;
  var kw: array<i32, QUADS>;
  var shift: array<i32, QUADS>;
  for (var g = 0u; g < QUADS; g++) {
    let q = min(quad0 + g, quads - 1u);
    kw[g] = i32((q / s.C4) % s.KW);
    kh[g] = i32(q / (s.C4 * s.KW));
    shift[g] = (kh[g] * i32(s.W) + kw[g]) * i32(s.C4) + i32(q % s.C4);
  }
  var col: array<u32, COLS>;
  for (var c = 0u; c < COLS; c++) { col[c] = min(col0 + c, s.F4 - 1u); }

  // acc[g][c] column r: dw row (quad g, channel r), vec4 column c.
  var acc: array<array<mat4x4f, COLS>, QUADS>;
  var db: array<vec4f, COLS>;
  let start = split * s.chunk;
  let end = min(start + s.chunk, M);
  var pixel = pixelAt(s, start);
  for (var m0 = start; m0 < end; m0 += 4u) {
    var x: array<array<vec4f, 4>, QUADS>;
    var dy: array<array<vec4f, 4>, COLS>;
    for (var p = 0u; p < 4u; p++) {
      // Past the chunk's end: zeros, read from a clamped pixel.
      let valid = m0 + p < end;
      let m = min(m0 + p, end - 1u);
      for (var g = 0u; g < QUADS; g++) {
        let ih = pixel.h + kh[g];
        let iw = pixel.w + kw[g];
        let inside = valid && ih >= 0 && ih < i32(s.H) && iw >= 0 && iw < i32(s.W);
        x[g][p] = select(vec4f(0.0), fx[u32(select(0, pixel.at + shift[g], inside))], inside);
      }
      for (var c = 0u; c < COLS; c++) {
        dy[c][p] = select(vec4f(0.0), fdy[m * s.F4 + col[c]], valid);
        db[c] += dy[c][p];
      }
      pixel = nextPixel(s, pixel);
    }
    for (var g = 0u; g < QUADS; g++) {
      let xt = transpose(mat4x4f(x[g][0], x[g][1], x[g][2], x[g][3]));
      for (var c = 0u; c < COLS; c++) { acc[g][c] += mat4x4f(dy[c][0], dy[c][1], dy[c][2], dy[c][3]) * xt; }
    }
  }

  let rows = quads * 4u;
  let at = split * (rows + 1u);
  for (var c = 0u; c < COLS; c++) {
    if (col0 + c >= s.F4) { break; }
    for (var g = 0u; g < QUADS; g++) {
      if (quad0 + g >= quads) { break; }
      for (var r = 0u; r < 4u; r++) { partial[(at + (quad0 + g) * 4u + r) * s.F4 + col0 + c] = acc[g][c][r]; }
    }
    if (quad0 == 0u) { partial[(at + rows) * s.F4 + col0 + c] = db[c]; }
  }
}

// dw[kh,kw,c,f] = Σ_split partial[split, (kh,kw,c), f] and db[f] = Σ_split
// partial[split, last row, f], in split order (deterministic); one invocation
// per element of dw then db, reading the padded layout and writing the real
// one. taps = KH·KW.
struct Reduce { taps: u32, C: u32, F: u32, C4: u32, F4: u32, splits: u32 }
@group(0) @binding(0) var<storage, read> parts: array<f32>;
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;
@group(0) @binding(3) var<uniform> red: Reduce;

@compute @workgroup_size(WG_X)
fn reduceFilterPartials(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flat(gid, groups);
  let dwSize = red.taps * red.C * red.F;
  if (i >= dwSize + red.F) { return; }
  let rows = red.taps * red.C4 * 4u;
  let f = select(i % red.F, i - dwSize, i >= dwSize);
  let c = (i / red.F) % red.C;
  let row = select((i / (red.F * red.C)) * red.C4 * 4u + c, rows, i >= dwSize);
  var sum = 0.0;
  for (var split = 0u; split < red.splits; split++) { sum += parts[(split * (rows + 1u) + row) * red.F4 * 4u + f]; }
  if (i < dwSize) { dw[i] = sum; } else { db[f] = sum; }
}

// dst[r, c] = src[r, c] for c < srcC, 0 beyond: pads channels to a multiple
// of 4 (or crops them back). src rows×srcC, dst rows×dstC; one invocation
// per row, so that no invocation divides to find its row and channel
// (lavapipe divides lane by lane: a division per element cost 2-3× the copy).
struct Channels { rows: u32, srcC: u32, dstC: u32 }
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> ch: Channels;

@compute @workgroup_size(WG_X)
fn padChannels(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = flat(gid, groups);
  if (r >= ch.rows) { return; }
  let kept = min(ch.srcC, ch.dstC);
  for (var c = 0u; c < kept; c++) { dst[r * ch.dstC + c] = src[r * ch.srcC + c]; }
  for (var c = kept; c < ch.dstC; c++) { dst[r * ch.dstC + c] = 0.0; }
}

// dst[n, h·SH, w·SW, c] = src[n, h, w, c] for c < srcC, zeros elsewhere: dy
// spread out so that the input gradient under strides is a stride-1 GEMM
// (conv2d.ts). src N×H×W×srcC, dst N×((H − 1)·SH + 1)×((W − 1)·SW + 1)×dstC;
// one invocation per dst pixel.
struct Dilate { H: u32, W: u32, SH: u32, SW: u32, pixels: u32, srcC: u32, dstC: u32 }
@group(0) @binding(2) var<uniform> dil: Dilate;

@compute @workgroup_size(WG_X)
fn dilate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = flat(gid, groups);
  if (r >= dil.pixels) { return; }
  let Wd = (dil.W - 1u) * dil.SW + 1u;
  let Hd = (dil.H - 1u) * dil.SH + 1u;
  let wd = r % Wd;
  let hd = (r / Wd) % Hd;
  let n = r / (Wd * Hd);
  let kept = select(0u, min(dil.srcC, dil.dstC), wd % dil.SW == 0u && hd % dil.SH == 0u);
  let at = ((n * dil.H + hd / dil.SH) * dil.W + wd / dil.SW) * dil.srcC;
  for (var c = 0u; c < kept; c++) { dst[r * dil.dstC + c] = src[at + c]; }
  for (var c = kept; c < dil.dstC; c++) { dst[r * dil.dstC + c] = 0.0; }
}

// The GEMM's weight operand, KH×KW×R4×S4 with zeros beyond R×S:
//   flip = 0: wk[kh,kw,r,s] = w[kh,kw,r,s] (w KH×KW×R×S; forward, R = C, S = F)
//   flip = 1: wk[kh,kw,r,s] = w[KH−1−kh, KW−1−kw, s, r] (w KH×KW×S×R; the input
//   gradient is a forward convolution of dy with this kernel, R = F, S = C)
struct Pack { KH: u32, KW: u32, R: u32, S: u32, R4: u32, S4: u32, flip: u32 }
@group(0) @binding(0) var<storage, read> wsrc: array<f32>;
@group(0) @binding(1) var<storage, read_write> wdst: array<f32>;
@group(0) @binding(2) var<uniform> pk: Pack;

@compute @workgroup_size(WG_X)
fn packWeights(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flat(gid, groups);
  let R = pk.R4 * 4u;
  let S = pk.S4 * 4u;
  if (i >= pk.KH * pk.KW * R * S) { return; }
  let s = i % S;
  let r = (i / S) % R;
  let kw = (i / (S * R)) % pk.KW;
  let kh = i / (S * R * pk.KW);
  if (r >= pk.R || s >= pk.S) {
    wdst[i] = 0.0;
  } else if (pk.flip == 0u) {
    wdst[i] = wsrc[((kh * pk.KW + kw) * pk.R + r) * pk.S + s];
  } else {
    wdst[i] = wsrc[(((pk.KH - 1u - kh) * pk.KW + pk.KW - 1u - kw) * pk.S + s) * pk.R + r];
  }
}
