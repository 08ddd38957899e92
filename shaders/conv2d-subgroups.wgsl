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
// All channel counts here are in vec4s (the dispatcher pads channels to a
// multiple of 4 with zeros), pixels are m = (n·H + h)·W + w, P = (K − 1)/2:
//   conv2dForward (M = N·H·W pixels, B4 vec4 columns, reduction over
//   (kh, kw, i); the input gradient is this GEMM too, see conv2d.ts):
//     a    N×H×W×A4        x; for the input gradient dy
//     wk   K×K×(A4·4)×B4   w; for the input gradient w flipped and transposed
//     bias B4              b; for the input gradient zeros
//     out  N×H×W×B4        y; for the input gradient dx
//   out[m, j] = bias[j] + Σ_{kh,kw,i} a[m + (kh − P)·W + (kw − P), i] · wk[kh,kw,i,j]
//   (reads outside the image are zero). One workgroup computes PIXELS pixels
//   (SLOTS groups of 8) × LANES vec4 columns; lane l loads pixels
//   ROW_LANES·t + l % ROW_LANES (t = 0..LOADS−1) of the tile.
//
//   conv2dBackwardFilter (M = K·K·C4 quads of 4 rows, columns F4 vec4s,
//   reduction over pixels, split into chunks):
//     x        N×H×W×C4    dy  N×H×W×F4
//     partial  splits×(K·K·C4·4 + 1)×F4: per chunk of pixels, the sums of
//              x[m shifted by (kh,kw), c]·dy[m, f] (rows (kh,kw,c)) and a last
//              row Σ dy[m, f] for db; reduceFilterPartials (conv2d.wgsl) adds
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

struct Gemm { N: u32, H: u32, W: u32, K: u32, A4: u32, B4: u32 }
struct Filter { N: u32, H: u32, W: u32, K: u32, C4: u32, F4: u32, chunk: u32 }

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
  let M = s.N * s.H * s.W;
  let P = i32(s.K / 2u);
  let bcol = min(col, s.B4 - 1u);
  // Load t is pixel ROW_LANES·t + lane of the tile: value t % ROWS_PER_LANE
  // of group t / ROWS_PER_LANE.
  var h: array<i32, LOADS>;
  var w: array<i32, LOADS>;
  var base: array<i32, LOADS>;
  for (var t = 0u; t < LOADS; t++) {
    let m = min(row0 + ROW_LANES * t + lane % ROW_LANES, M - 1u);
    w[t] = i32(m % s.W);
    h[t] = i32((m / s.W) % s.H);
    base[t] = i32(m);
  }
  var acc: Tile;
  // One flat loop over the reduction, (kh, kw, a4) stepped by hand: nested
  // loops cost lavapipe a spill of every accumulator at each inner-loop exit.
  var kh = 0;
  var kw = 0;
  var a4 = 0u;
  for (var step = 0u; step < s.K * s.K * s.A4; step++) {
    let k = step * 4u;
    let b = mat4x4f(wk[k * s.B4 + bcol], wk[(k + 1u) * s.B4 + bcol], wk[(k + 2u) * s.B4 + bcol], wk[(k + 3u) * s.B4 + bcol]);
    let shift = (kh - P) * i32(s.W) + kw - P;
    for (var j = 0u; j < SLOTS; j++) {
      // This lane's rows of group j: load t, and t + 1 with 4 lanes. Written
      // out, not looped: a loop here, even of one pass, made this kernel
      // about 2× slower on lavapipe.
      let t = j * ROWS_PER_LANE;
      var v: Rows;
      v[0] = inputAt(s, h[t] + kh - P, w[t] + kw - P, base[t] + shift, a4);
      if (ROWS_PER_LANE == 2u) { v[ROWS_PER_LANE - 1u] = inputAt(s, h[t + 1u] + kh - P, w[t + 1u] + kw - P, base[t + 1u] + shift, a4); }
      accumulate8(&acc[j], b, v);
    }
    a4 += 1u;
    let nextKw = a4 == s.A4;
    a4 = select(a4, 0u, nextKw);
    kw = select(kw, kw + 1, nextKw);
    let nextKh = kw == i32(s.K);
    kw = select(kw, 0, nextKh);
    kh = select(kh, kh + 1, nextKh);
  }
  return acc;
}

fn store(s: Gemm, row0: u32, col: u32, acc: Tile, add: vec4f) {
  let M = s.N * s.H * s.W;
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
  if (t >= colTiles * ((s.N * s.H * s.W + PIXELS - 1u) / PIXELS)) { return; }
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

// Where quad q = (kh, kw, c4) sits relative to a pixel: (kh − P, kw − P) and
// the shift of its vec4 of x.
fn quadOffset(s: Filter, q: u32) -> vec3i {
  let P = i32(s.K / 2u);
  let dh = i32(q / (s.C4 * s.K)) - P;
  let dw = i32((q / s.C4) % s.K) - P;
  return vec3i(dh, dw, (dh * i32(s.W) + dw) * i32(s.C4) + i32(q % s.C4));
}

// x of the quad at offset o for pixel m at (h, w): zeros outside the image or when not valid.
fn xAt(s: Filter, valid: bool, h: i32, w: i32, m: u32, o: vec3i) -> vec4f {
  let ih = h + o.x;
  let iw = w + o.y;
  let inside = valid && ih >= 0 && ih < i32(s.H) && iw >= 0 && iw < i32(s.W);
  return select(vec4f(0.0), fx[u32(select(0, i32(m * s.C4) + o.z, inside))], inside);
}

@compute @workgroup_size(LANES)
fn conv2dBackwardFilter(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let s = filterShape;
  let M = s.N * s.H * s.W;
  let quads = s.K * s.K * s.C4;
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
  // (h, w) of the next pixel, stepped without division: a vector division
  // costs more than a whole reduction step on lavapipe.
  var h = i32((start / s.W) % s.H);
  var w = i32(start % s.W);
  for (var m0 = start; m0 < end; m0 += 4u) {
    var x: Quads;
    var dy: array<vec4f, 4>;
    for (var p = 0u; p < 4u; p++) {
      // Past the chunk's end: zeros, read from a clamped pixel.
      let valid = m0 + p < end;
      let m = min(m0 + p, end - 1u);
      x[0][p] = xAt(s, valid, h, w, m, o[0]);
      if (ROWS_PER_LANE == 2u) { x[ROWS_PER_LANE - 1u][p] = xAt(s, valid, h, w, m, o[ROWS_PER_LANE - 1u]); }
      dy[p] = select(vec4f(0.0), fdy[m * s.F4 + dcol], valid);
      db += dy[p];
      w += 1;
      let wrap = w == i32(s.W);
      w = select(w, 0, wrap);
      h = select(h, h + 1, wrap);
      h = select(h, 0, h == i32(s.H));
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
