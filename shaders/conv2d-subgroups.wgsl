// 2-D convolution as implicit GEMMs, subgroup style (PERF-NOTES.md): one
// workgroup is exactly one subgroup, each lane owns 4 output columns (one
// vec4), and values one lane loaded reach the others by subgroupBroadcast
// instead of memory. Needs a fixed subgroup size of at least 8: lanes 0-7
// hold the rows that are broadcast, further lanes only add columns.
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
//   (reads outside the image are zero). One workgroup computes 32 pixels ×
//   WG_X vec4 columns; lane l loads pixels 8j + l (j = 0..3) of the tile.
//
//   conv2dBackwardFilter (M = K·K·C4 quads of 4 rows, columns F4 vec4s,
//   reduction over pixels, split into chunks):
//     x        N×H×W×C4    dy  N×H×W×F4
//     partial  splits×(K·K·C4·4 + 1)×F4: per chunk of pixels, the sums of
//              x[m shifted by (kh,kw), c]·dy[m, f] (rows (kh,kw,c)) and a last
//              row Σ dy[m, f] for db; reduceFilterPartials (conv2d.wgsl) adds
//              the chunks in a fixed order.
//   One workgroup computes 8 quads (32 rows) × WG_X vec4 columns over one
//   chunk; lane l loads quad l's x values, 4 pixels at a time.
enable subgroups;

override WG_X: u32;

struct Gemm { N: u32, H: u32, W: u32, K: u32, A4: u32, B4: u32 }
struct Filter { N: u32, H: u32, W: u32, K: u32, C4: u32, F4: u32, chunk: u32 }

alias Tile = array<array<vec4f, 8>, 4>;

@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> wk: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
@group(0) @binding(4) var<uniform> forwardShape: Gemm;

// The workgroup's tile (linear over a folded grid, columns fastest).
fn tileIndex(wg: vec3u, groups: vec3u) -> u32 { return wg.x + wg.y * groups.x; }

// acc[l] += b · (lane l's vec4 of a): rows 0-7 of a slot, 4 reduction steps.
fn accumulate8(acc: ptr<function, array<vec4f, 8>>, b: mat4x4f, a: vec4f) {
  (*acc)[0] += b * subgroupBroadcast(a, 0u);
  (*acc)[1] += b * subgroupBroadcast(a, 1u);
  (*acc)[2] += b * subgroupBroadcast(a, 2u);
  (*acc)[3] += b * subgroupBroadcast(a, 3u);
  (*acc)[4] += b * subgroupBroadcast(a, 4u);
  (*acc)[5] += b * subgroupBroadcast(a, 5u);
  (*acc)[6] += b * subgroupBroadcast(a, 6u);
  (*acc)[7] += b * subgroupBroadcast(a, 7u);
}

// The implicit GEMM for pixels row0 … row0 + 31 and vec4 column col (loads
// are clamped inside the buffers; store drops what is outside the output).
fn implicitGemm(s: Gemm, row0: u32, col: u32, lane: u32) -> Tile {
  let M = s.N * s.H * s.W;
  let P = i32(s.K / 2u);
  let bcol = min(col, s.B4 - 1u);
  var h: array<i32, 4>;
  var w: array<i32, 4>;
  var base: array<i32, 4>;
  for (var j = 0u; j < 4u; j++) {
    let m = min(row0 + 8u * j + lane % 8u, M - 1u);
    w[j] = i32(m % s.W);
    h[j] = i32((m / s.W) % s.H);
    base[j] = i32(m);
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
    for (var j = 0u; j < 4u; j++) {
      let ih = h[j] + kh - P;
      let iw = w[j] + kw - P;
      let inside = ih >= 0 && ih < i32(s.H) && iw >= 0 && iw < i32(s.W);
      let src = select(0u, u32(base[j] + shift) * s.A4 + a4, inside);
      accumulate8(&acc[j], b, select(vec4f(0.0), a[src], inside));
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
  for (var j = 0u; j < 4u; j++) {
    for (var l = 0u; l < 8u; l++) {
      let m = row0 + 8u * j + l;
      if (m < M) { out[m * s.B4 + col] = acc[j][l] + add; }
    }
  }
}

@compute @workgroup_size(WG_X)
fn conv2dForward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let s = forwardShape;
  let colTiles = (s.B4 + WG_X - 1u) / WG_X;
  let t = tileIndex(wg, groups);
  if (t >= colTiles * ((s.N * s.H * s.W + 31u) / 32u)) { return; }
  let row0 = (t / colTiles) * 32u;
  let col = (t % colTiles) * WG_X + lane;
  let acc = implicitGemm(s, row0, col, lane);
  store(s, row0, col, acc, bias[min(col, s.B4 - 1u)]);
}

@group(0) @binding(0) var<storage, read> fx: array<vec4f>;
@group(0) @binding(1) var<storage, read> fdy: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> partial: array<vec4f>;
@group(0) @binding(3) var<uniform> filterShape: Filter;

// acc[g] += dy · xᵀ for quad g (lane g's x values at the 4 pixels): column i
// of acc[g] is dw row 4g + i.
fn outer8(acc: ptr<function, array<mat4x4f, 8>>, dy: mat4x4f, x: array<vec4f, 4>) {
  (*acc)[0] += dy * transpose(mat4x4f(subgroupBroadcast(x[0], 0u), subgroupBroadcast(x[1], 0u), subgroupBroadcast(x[2], 0u), subgroupBroadcast(x[3], 0u)));
  (*acc)[1] += dy * transpose(mat4x4f(subgroupBroadcast(x[0], 1u), subgroupBroadcast(x[1], 1u), subgroupBroadcast(x[2], 1u), subgroupBroadcast(x[3], 1u)));
  (*acc)[2] += dy * transpose(mat4x4f(subgroupBroadcast(x[0], 2u), subgroupBroadcast(x[1], 2u), subgroupBroadcast(x[2], 2u), subgroupBroadcast(x[3], 2u)));
  (*acc)[3] += dy * transpose(mat4x4f(subgroupBroadcast(x[0], 3u), subgroupBroadcast(x[1], 3u), subgroupBroadcast(x[2], 3u), subgroupBroadcast(x[3], 3u)));
  (*acc)[4] += dy * transpose(mat4x4f(subgroupBroadcast(x[0], 4u), subgroupBroadcast(x[1], 4u), subgroupBroadcast(x[2], 4u), subgroupBroadcast(x[3], 4u)));
  (*acc)[5] += dy * transpose(mat4x4f(subgroupBroadcast(x[0], 5u), subgroupBroadcast(x[1], 5u), subgroupBroadcast(x[2], 5u), subgroupBroadcast(x[3], 5u)));
  (*acc)[6] += dy * transpose(mat4x4f(subgroupBroadcast(x[0], 6u), subgroupBroadcast(x[1], 6u), subgroupBroadcast(x[2], 6u), subgroupBroadcast(x[3], 6u)));
  (*acc)[7] += dy * transpose(mat4x4f(subgroupBroadcast(x[0], 7u), subgroupBroadcast(x[1], 7u), subgroupBroadcast(x[2], 7u), subgroupBroadcast(x[3], 7u)));
}

@compute @workgroup_size(WG_X)
fn conv2dBackwardFilter(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let s = filterShape;
  let M = s.N * s.H * s.W;
  let quads = s.K * s.K * s.C4;
  let colTiles = (s.F4 + WG_X - 1u) / WG_X;
  let quadTiles = (quads + 7u) / 8u;
  let splits = (M + s.chunk - 1u) / s.chunk;
  let t = tileIndex(wg, groups);
  if (t >= colTiles * quadTiles * splits) { return; }
  let col = (t % colTiles) * WG_X + lane;
  let quadTile = (t / colTiles) % quadTiles;
  let split = t / (colTiles * quadTiles);
  let dcol = min(col, s.F4 - 1u);
  // This lane's quad (kh, kw, c4) and where it sits relative to a pixel.
  let q = min(quadTile * 8u + lane % 8u, quads - 1u);
  let c4 = q % s.C4;
  let kw = i32((q / s.C4) % s.K);
  let kh = i32(q / (s.C4 * s.K));
  let P = i32(s.K / 2u);
  let shift = ((kh - P) * i32(s.W) + kw - P) * i32(s.C4) + i32(c4);

  var acc: array<mat4x4f, 8>;
  var db = vec4f(0.0);
  let start = split * s.chunk;
  let end = min(start + s.chunk, M);
  // (h, w) of the next pixel, stepped without division: a vector division
  // costs more than a whole reduction step on lavapipe.
  var h = i32((start / s.W) % s.H);
  var w = i32(start % s.W);
  for (var m0 = start; m0 < end; m0 += 4u) {
    var x: array<vec4f, 4>;
    var dy: array<vec4f, 4>;
    for (var p = 0u; p < 4u; p++) {
      // Past the chunk's end: zeros, read from a clamped pixel.
      let valid = m0 + p < end;
      let m = min(m0 + p, end - 1u);
      let ih = h + kh - P;
      let iw = w + kw - P;
      let inside = valid && ih >= 0 && ih < i32(s.H) && iw >= 0 && iw < i32(s.W);
      x[p] = select(vec4f(0.0), fx[u32(select(0, i32(m * s.C4) + shift, inside))], inside);
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
  for (var g = 0u; g < 8u; g++) {
    let quad = quadTile * 8u + g;
    if (quad < quads) {
      for (var i = 0u; i < 4u; i++) { partial[(at + quad * 4u + i) * s.F4 + col] = acc[g][i]; }
    }
  }
  if (quadTile == 0u) { partial[(at + rows) * s.F4 + col] = db; }
}
