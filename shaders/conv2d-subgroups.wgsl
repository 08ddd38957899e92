// 2-D convolution as implicit GEMMs, subgroup style (PERF-NOTES.md): one
// workgroup is exactly one subgroup, each lane owns 4 output columns (one
// vec4), and values one lane loaded reach the others by subgroupBroadcast
// instead of memory.
//
// conv2d.ts sets LANES (the device's one subgroup size: 4, 8, 32...), PIXELS
// and QUADS (the tiles below). Rows are broadcast in groups of 8 (the eight
// lines of accumulate8 and outer8): row k of a group comes from lane
// k % ROW_LANES, which holds ROWS_PER_LANE of the group's rows. With 8 lanes
// or more that is one row per lane 0-7 (further lanes only add columns); with
// 4 lanes each lane holds rows l and l + 4.
//
// The geometry is TF's, as in conv2d.wgsl: an H×W input, a KH×KW kernel,
// strides SH, SW, an Ho×Wo output, output pixels m = (n·Ho + oh)·Wo + ow;
// output pixel (oh, ow) and tap (kh, kw) read input row
// ih = oh·SH + kh − padTop and column iw = ow·SW + kw − padLeft, zeros
// outside the image. All channel counts here are in vec4s (the dispatcher
// pads channels to a multiple of 4 with zeros):
//   conv2dForward (M = N·Ho·Wo pixels, B4 vec4 columns, reduction over
//   (kh, kw, i); the input gradient is this GEMM too, see conv2d.ts):
//     a    N×H×W×A4          x; for the input gradient dy (dilated under stride)
//     wk   KH×KW×(A4·4)×B4   w; for the input gradient w flipped and transposed
//     bias B4                b; for the input gradient zeros
//     out  N×Ho×Wo×B4        y; for the input gradient dx
//   out[m, j] = bias[j] + Σ_{kh,kw,i} a[n, ih, iw, i] · wk[kh,kw,i,j]. One
//   workgroup computes PIXELS pixels (SLOTS groups of 8) × LANES vec4
//   columns; lane l loads pixels ROW_LANES·t + l % ROW_LANES
//   (t = 0..LOADS−1) of the tile.
//
//   conv2dBackwardFilter (KH·KW·C4 quads of 4 rows, columns F4 vec4s,
//   reduction over output pixels, split into chunks):
//     x        N×H×W×C4    dy  N×Ho×Wo×F4
//     partial  splits×(KH·KW·C4·4 + 1)×F4: per chunk of pixels, the sums
//              Σ_m x[n, ih, iw, c]·dy[m, f] (rows (kh,kw,c)) and a last row
//              Σ_m dy[m, f] for db; reduceFilterPartials (conv2d.wgsl) adds
//              the chunks in a fixed order.
//   One workgroup computes QUADS quads (one group of 8, 32 rows) × LANES vec4
//   columns over one chunk; lane l loads quads ROW_LANES·r + l % ROW_LANES
//   (r = 0..ROWS_PER_LANE−1) of the tile, 4 pixels at a time.
enable subgroups;

const ROW_LANES = min(LANES, 8u);
const ROWS_PER_LANE = 8u / ROW_LANES;
const SLOTS = PIXELS / 8u;
const LOADS = SLOTS * ROWS_PER_LANE;
// At most 2 rows per lane (both kernels write their loads out for 1 and 2),
// and the filter tile is one group: outer8 covers exactly 8 quads.
const_assert LANES >= 4u && 8u % ROW_LANES == 0u && PIXELS % 8u == 0u && QUADS == 8u;

// The uniforms Gemm and Filter and the pixel walk are conv2d-geometry.wgsl's,
// compiled with this file.

alias Tile = array<array<vec4f, 8>, SLOTS>;
// A lane's values of one group of 8 rows: row k is value k / ROW_LANES of lane k % ROW_LANES.
alias Rows = array<vec4f, ROWS_PER_LANE>;

@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> wk: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
@group(0) @binding(4) var<uniform> forwardShape: Gemm;

// The workgroup's tile (linear over a folded grid, columns fastest).
fn tileIndex(wg: vec3u, groups: vec3u) -> u32 { return wg.x + wg.y * groups.x; }

// acc[k] += b · (row k of the group of a), 4 reduction steps.
fn accumulate8(acc: ptr<function, array<vec4f, 8>>, b: mat4x4f, a: Rows) {
  (*acc)[0] += b * subgroupBroadcast(a[0u / ROW_LANES], 0u % ROW_LANES);
  (*acc)[1] += b * subgroupBroadcast(a[1u / ROW_LANES], 1u % ROW_LANES);
  (*acc)[2] += b * subgroupBroadcast(a[2u / ROW_LANES], 2u % ROW_LANES);
  (*acc)[3] += b * subgroupBroadcast(a[3u / ROW_LANES], 3u % ROW_LANES);
  (*acc)[4] += b * subgroupBroadcast(a[4u / ROW_LANES], 4u % ROW_LANES);
  (*acc)[5] += b * subgroupBroadcast(a[5u / ROW_LANES], 5u % ROW_LANES);
  (*acc)[6] += b * subgroupBroadcast(a[6u / ROW_LANES], 6u % ROW_LANES);
  (*acc)[7] += b * subgroupBroadcast(a[7u / ROW_LANES], 7u % ROW_LANES);
}

// Vec4 a4 of input pixel `at` (at row ih, column iw), or zeros outside the image.
fn inputAt(s: Gemm, ih: i32, iw: i32, at: i32, a4: u32) -> vec4f {
  let inside = ih >= 0 && ih < i32(s.H) && iw >= 0 && iw < i32(s.W);
  return select(vec4f(0.0), a[select(0u, u32(at) * s.A4 + a4, inside)], inside);
}

// The implicit GEMM for pixels row0 … row0 + PIXELS − 1 and vec4 column col
// (loads are clamped inside the buffers; store drops what is outside the output).
fn implicitGemm(s: Gemm, row0: u32, col: u32, lane: u32) -> Tile {
  let M = s.N * s.Ho * s.Wo;
  let bcol = min(col, s.B4 - 1u);
  // Load t is pixel ROW_LANES·t + lane of the tile: value t % ROWS_PER_LANE
  // of group t / ROWS_PER_LANE. Its input row, column and pixel index at tap
  // (0, 0), which may lie in the padding.
  var h: array<i32, LOADS>;
  var w: array<i32, LOADS>;
  var base: array<i32, LOADS>;
  for (var t = 0u; t < LOADS; t++) {
    let m = min(row0 + ROW_LANES * t + lane % ROW_LANES, M - 1u);
    let ow = m % s.Wo;
    let rows = m / s.Wo;
    h[t] = i32((rows % s.Ho) * s.SH) - i32(s.padTop);
    w[t] = i32(ow * s.SW) - i32(s.padLeft);
    base[t] = (i32((rows / s.Ho) * s.H) + h[t]) * i32(s.W) + w[t];
  }
  var acc: Tile;
  // One flat loop over the reduction, (kh, kw, a4) stepped by hand: nested
  // loops cost lavapipe a spill of every accumulator at each inner-loop exit.
  var kh = 0;
  var kw = 0;
  var a4 = 0u;
  for (var step = 0u; step < s.KH * s.KW * s.A4; step++) {
    let k = step * 4u;
    let b = mat4x4f(wk[k * s.B4 + bcol], wk[(k + 1u) * s.B4 + bcol], wk[(k + 2u) * s.B4 + bcol], wk[(k + 3u) * s.B4 + bcol]);
    let shift = kh * i32(s.W) + kw;
    for (var j = 0u; j < SLOTS; j++) {
      // This lane's rows of group j: load t, and t + 1 with 4 lanes. Written
      // out, not looped: a loop here, even of one pass, made this kernel
      // about 2× slower on lavapipe.
      let t = j * ROWS_PER_LANE;
      var v: Rows;
      v[0] = inputAt(s, h[t] + kh, w[t] + kw, base[t] + shift, a4);
      if (ROWS_PER_LANE == 2u) { v[ROWS_PER_LANE - 1u] = inputAt(s, h[t + 1u] + kh, w[t + 1u] + kw, base[t + 1u] + shift, a4); }
      accumulate8(&acc[j], b, v);
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

fn store(s: Gemm, row0: u32, col: u32, acc: Tile, add: vec4f) {
  let M = s.N * s.Ho * s.Wo;
  if (col >= s.B4) { return; }
  for (var j = 0u; j < SLOTS; j++) {
    for (var l = 0u; l < 8u; l++) {
      let m = row0 + 8u * j + l;
      if (m < M) { out[m * s.B4 + col] = acc[j][l] + add; }
    }
  }
}

@compute @workgroup_size(LANES)
fn conv2dForward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let s = forwardShape;
  let colTiles = (s.B4 + LANES - 1u) / LANES;
  let t = tileIndex(wg, groups);
  if (t >= colTiles * ((s.N * s.Ho * s.Wo + PIXELS - 1u) / PIXELS)) { return; }
  let row0 = (t / colTiles) * PIXELS;
  let col = (t % colTiles) * LANES + lane;
  let acc = implicitGemm(s, row0, col, lane);
  store(s, row0, col, acc, bias[min(col, s.B4 - 1u)]);
}

@group(0) @binding(0) var<storage, read> fx: array<vec4f>;
@group(0) @binding(1) var<storage, read> fdy: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> partial: array<vec4f>;
@group(0) @binding(3) var<uniform> filterShape: Filter;

// A lane's x values: for each of its quads, at the 4 pixels.
alias Quads = array<array<vec4f, 4>, ROWS_PER_LANE>;

// acc[g] += dy · xᵀ for quad g (x of quad g at the 4 pixels, from lane
// g % ROW_LANES): column i of acc[g] is dw row 4g + i.
fn outer8(acc: ptr<function, array<mat4x4f, 8>>, dy: mat4x4f, x: Quads) {
  (*acc)[0] += dy * transpose(mat4x4f(subgroupBroadcast(x[0u / ROW_LANES][0], 0u % ROW_LANES), subgroupBroadcast(x[0u / ROW_LANES][1], 0u % ROW_LANES), subgroupBroadcast(x[0u / ROW_LANES][2], 0u % ROW_LANES), subgroupBroadcast(x[0u / ROW_LANES][3], 0u % ROW_LANES)));
  (*acc)[1] += dy * transpose(mat4x4f(subgroupBroadcast(x[1u / ROW_LANES][0], 1u % ROW_LANES), subgroupBroadcast(x[1u / ROW_LANES][1], 1u % ROW_LANES), subgroupBroadcast(x[1u / ROW_LANES][2], 1u % ROW_LANES), subgroupBroadcast(x[1u / ROW_LANES][3], 1u % ROW_LANES)));
  (*acc)[2] += dy * transpose(mat4x4f(subgroupBroadcast(x[2u / ROW_LANES][0], 2u % ROW_LANES), subgroupBroadcast(x[2u / ROW_LANES][1], 2u % ROW_LANES), subgroupBroadcast(x[2u / ROW_LANES][2], 2u % ROW_LANES), subgroupBroadcast(x[2u / ROW_LANES][3], 2u % ROW_LANES)));
  (*acc)[3] += dy * transpose(mat4x4f(subgroupBroadcast(x[3u / ROW_LANES][0], 3u % ROW_LANES), subgroupBroadcast(x[3u / ROW_LANES][1], 3u % ROW_LANES), subgroupBroadcast(x[3u / ROW_LANES][2], 3u % ROW_LANES), subgroupBroadcast(x[3u / ROW_LANES][3], 3u % ROW_LANES)));
  (*acc)[4] += dy * transpose(mat4x4f(subgroupBroadcast(x[4u / ROW_LANES][0], 4u % ROW_LANES), subgroupBroadcast(x[4u / ROW_LANES][1], 4u % ROW_LANES), subgroupBroadcast(x[4u / ROW_LANES][2], 4u % ROW_LANES), subgroupBroadcast(x[4u / ROW_LANES][3], 4u % ROW_LANES)));
  (*acc)[5] += dy * transpose(mat4x4f(subgroupBroadcast(x[5u / ROW_LANES][0], 5u % ROW_LANES), subgroupBroadcast(x[5u / ROW_LANES][1], 5u % ROW_LANES), subgroupBroadcast(x[5u / ROW_LANES][2], 5u % ROW_LANES), subgroupBroadcast(x[5u / ROW_LANES][3], 5u % ROW_LANES)));
  (*acc)[6] += dy * transpose(mat4x4f(subgroupBroadcast(x[6u / ROW_LANES][0], 6u % ROW_LANES), subgroupBroadcast(x[6u / ROW_LANES][1], 6u % ROW_LANES), subgroupBroadcast(x[6u / ROW_LANES][2], 6u % ROW_LANES), subgroupBroadcast(x[6u / ROW_LANES][3], 6u % ROW_LANES)));
  (*acc)[7] += dy * transpose(mat4x4f(subgroupBroadcast(x[7u / ROW_LANES][0], 7u % ROW_LANES), subgroupBroadcast(x[7u / ROW_LANES][1], 7u % ROW_LANES), subgroupBroadcast(x[7u / ROW_LANES][2], 7u % ROW_LANES), subgroupBroadcast(x[7u / ROW_LANES][3], 7u % ROW_LANES)));
}

// Quad q = (kh, kw, c4): its tap (kh, kw) and where its vec4 of x sits
// relative to tap (0, 0)'s.
fn quadOffset(s: Filter, q: u32) -> vec3i {
  let kh = i32(q / (s.C4 * s.KW));
  let kw = i32((q / s.C4) % s.KW);
  return vec3i(kh, kw, (kh * i32(s.W) + kw) * i32(s.C4) + i32(q % s.C4));
}

// x of the quad at offset o for `pixel`: zeros outside the image or when not valid.
fn xAt(s: Filter, valid: bool, pixel: PixelAt, o: vec3i) -> vec4f {
  let ih = pixel.h + o.x;
  let iw = pixel.w + o.y;
  let inside = valid && ih >= 0 && ih < i32(s.H) && iw >= 0 && iw < i32(s.W);
  return select(vec4f(0.0), fx[u32(select(0, pixel.at + o.z, inside))], inside);
}

@compute @workgroup_size(LANES)
fn conv2dBackwardFilter(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let s = filterShape;
  let M = s.N * s.Ho * s.Wo;
  let quads = s.KH * s.KW * s.C4;
  let colTiles = (s.F4 + LANES - 1u) / LANES;
  let quadTiles = (quads + QUADS - 1u) / QUADS;
  let splits = (M + s.chunk - 1u) / s.chunk;
  let t = tileIndex(wg, groups);
  if (t >= colTiles * quadTiles * splits) { return; }
  let col = (t % colTiles) * LANES + lane;
  let quadTile = (t / colTiles) % quadTiles;
  let split = t / (colTiles * quadTiles);
  let dcol = min(col, s.F4 - 1u);
  // This lane's quads: ROW_LANES·r + lane of the tile, r = 0 (and 1 with 4
  // lanes), written out as in implicitGemm.
  let q0 = quadTile * QUADS + lane % ROW_LANES;
  var o: array<vec3i, ROWS_PER_LANE>;
  o[0] = quadOffset(s, min(q0, quads - 1u));
  if (ROWS_PER_LANE == 2u) { o[ROWS_PER_LANE - 1u] = quadOffset(s, min(q0 + ROW_LANES, quads - 1u)); }

  var acc: array<mat4x4f, 8>;
  var db = vec4f(0.0);
  let start = split * s.chunk;
  let end = min(start + s.chunk, M);
  var pixel = pixelAt(s, start);
  for (var m0 = start; m0 < end; m0 += 4u) {
    var x: Quads;
    var dy: array<vec4f, 4>;
    for (var p = 0u; p < 4u; p++) {
      // Past the chunk's end: zeros, read from a clamped pixel.
      let valid = m0 + p < end;
      let m = min(m0 + p, end - 1u);
      x[0][p] = xAt(s, valid, pixel, o[0]);
      if (ROWS_PER_LANE == 2u) { x[ROWS_PER_LANE - 1u][p] = xAt(s, valid, pixel, o[ROWS_PER_LANE - 1u]); }
      dy[p] = select(vec4f(0.0), fdy[m * s.F4 + dcol], valid);
      db += dy[p];
      pixel = nextPixel(s, pixel);
    }
    outer8(&acc, mat4x4f(dy[0], dy[1], dy[2], dy[3]), x);
  }

  if (col >= s.F4) { return; }
  let rows = quads * 4u;
  let at = split * (rows + 1u);
  for (var g = 0u; g < QUADS; g++) {
    let quad = quadTile * QUADS + g;
    if (quad < quads) {
      for (var i = 0u; i < 4u; i++) { partial[(at + quad * 4u + i) * s.F4 + col] = acc[g][i]; }
    }
  }
  if (quadTile == 0u) { partial[(at + rows) * s.F4 + col] = db; }
}
