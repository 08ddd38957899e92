// Max and average pooling over a PH×PW window with strides SH×SW and TF's
// 'valid' or 'same' padding, and their gradients.
//   x, dx:   N×H×W×C float32 (NHWC, as Keras)
//   y, dy:   N×Ho×Wo×C, Ho, Wo, padTop and padLeft from shapes.ts's window2d
//   argmax:  N×Ho×Wo×C u32, the winning cell of each window as kh·PW + kw
// Window (oh, ow) covers x rows oh·SH − padTop + kh (kh < PH) and columns
// ow·SW − padLeft + kw (kw < PW). Cells outside the image are padding: they
// never win a max and do not count in an average (TF divides a border window
// by its cells inside the image).
//
// PH, PW, SH and SW are module constants that pool2d.ts prepends, and V, VU,
// VB the channel group's types, which pool2d-vec4.wgsl or pool2d-scalar.wgsl
// declares: a channel group is 4 channels read and written as vec4 where
// C % 4 == 0 (the model's 32, 64 and 128 channels), one channel otherwise.
// lavapipe loads and stores lane by lane, so the cost is the count of memory
// operations, and one vec4 costs about half of four scalars. Constant window
// sizes let the loops unroll and keep the backward's accumulators in
// registers.
//
// Every entry point runs on a grid (channel group g, column, z = n·rows + row):
// invocation ids give the channel group and column directly, and the one
// division (n and the row from z) is uniform over a workgroup. Per-invocation
// integer division, which lavapipe does lane by lane, cost more than the
// pooling itself. Past 65,535 rows the dispatcher splits the grid into several
// dispatches, z0 giving the first row.
//   forward:  one invocation per window (oh, ow): rows = Ho, cols = Wo.
//   backward: one invocation per block (bh, bw) of SH×SW x cells, those at
//     rows bh·SH − padTop + rh (rh < SH) and columns bw·SW − padLeft + rw
//     (rw < SW): rows = ⌈(H + padTop)/SH⌉, cols = ⌈(W + padLeft)/SW⌉. Window
//     (bh − d, bw − e) covers cell (rh, rw) at kh = d·SH + rh, kw = e·SW + rw,
//     so the windows that meet a block are those of d·SH < PH, e·SW < PW. The
//     invocation reads each of them once, adds its gradient into the cells
//     it covers and writes every cell of the block once: a gather, so
//     overlapping windows (stride < size) need no atomics. At 2×2 stride 2
//     a block is one window, read once for its 4 cells.

// G: channel groups per pixel (C/4 or C).
struct Params { H: u32, W: u32, G: u32, Ho: u32, Wo: u32, padTop: u32, padLeft: u32, rows: u32, cols: u32, z0: u32 }
override WG_X: u32 = 64;
override WG_Y: u32 = 1;
const BLOCK = SH * SW;
// Windows that meet a block, per axis.
const DH = (PH + SH - 1u) / SH;
const DW = (PW + SW - 1u) / SW;

// Bindings, the uniform after the buffers (so at 3 for max pooling, at 2 for
// average pooling; the helpers take it by value):
//   maxPool2dForward   x, y, argmax      avgPool2dForward   x, y
//   maxPool2dBackward  dy, dx, argmax    avgPool2dBackward  dy, dx
@group(0) @binding(0) var<storage, read> x: array<V>;
@group(0) @binding(1) var<storage, read_write> y: array<V>;
@group(0) @binding(2) var<storage, read_write> argmax: array<VU>;
@group(0) @binding(0) var<storage, read> dy: array<V>;
@group(0) @binding(1) var<storage, read_write> dx: array<V>;
@group(0) @binding(2) var<storage, read> winners: array<VU>;
@group(0) @binding(3) var<uniform> p3: Params;
@group(0) @binding(2) var<uniform> p2: Params;

// The window cells [k0, k1) inside the image along one axis, for the window
// whose first cell is at o·S − pad: never empty, since TF pads less than a
// window.
fn inside(o: u32, S: u32, K: u32, pad: u32, size: u32) -> vec2u {
  let start = o * S;
  return vec2u(select(0u, pad - start, start < pad), min(K, size + pad - start));
}

struct Grid { n: u32, row: u32, col: u32, g: u32, ok: bool }

fn grid(s: Params, gid: vec3u, wid: vec3u) -> Grid {
  let z = s.z0 + wid.z;
  return Grid(z / s.rows, z % s.rows, gid.y, gid.x, gid.x < s.G && gid.y < s.cols);
}

// The x index of cell (row·SH − padTop, col·SW − padLeft): a forward
// window's cell (0, 0), and a backward block's cell (0, 0). Where that cell
// is padding above or left of the image, the index wraps around (u32
// arithmetic wraps), and the index of a cell inside the image, counted from
// it, still comes out right.
fn origin(s: Params, at: Grid) -> u32 {
  return ((at.n * s.H + at.row * SH - s.padTop) * s.W + at.col * SW - s.padLeft) * s.G + at.g;
}

// A forward window: its origin, its cells [kh.x, kh.y) × [kw.x, kw.y)
// inside the image, and its y index. The loops run over the whole PH×PW
// window and skip the cells outside, so that their bounds are constants and
// they unroll.
struct Window { origin: u32, kh: vec2u, kw: vec2u, y: u32, ok: bool }

fn window(s: Params, gid: vec3u, wid: vec3u) -> Window {
  let at = grid(s, gid, wid);
  let kh = inside(at.row, SH, PH, s.padTop, s.H);
  let kw = inside(at.col, SW, PW, s.padLeft, s.W);
  return Window(origin(s, at), kh, kw, ((at.n * s.Ho + at.row) * s.Wo + at.col) * s.G + at.g, at.ok);
}

fn isInside(win: Window, kh: u32, kw: u32) -> bool {
  return kh >= win.kh.x && kh < win.kh.y && kw >= win.kw.x && kw < win.kw.y;
}

fn cellAt(s: Params, win: Window, kh: u32, kw: u32) -> u32 { return win.origin + (kh * s.W + kw) * s.G; }

// Scans the window in row-major order and keeps the first maximum (strict >),
// as TF does on ties. The first cell inside the image seeds the max through
// `found`: loading it before the loop would load it twice.
@compute @workgroup_size(WG_X, WG_Y)
fn maxPool2dForward(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let win = window(p3, gid, wid);
  if (!win.ok) { return; }
  var best = V(0.0);
  var cell = VU(0u);
  var found = false;
  for (var kh = 0u; kh < PH; kh++) {
    for (var kw = 0u; kw < PW; kw++) {
      if (isInside(win, kh, kw)) {
        let v = x[cellAt(p3, win, kh, kw)];
        let better = (v > best) | VB(!found);
        best = select(best, v, better);
        cell = select(cell, VU(kh * PW + kw), better);
        found = true;
      }
    }
  }
  y[win.y] = best;
  argmax[win.y] = cell;
}

@compute @workgroup_size(WG_X, WG_Y)
fn avgPool2dForward(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let win = window(p2, gid, wid);
  if (!win.ok) { return; }
  var sum = V(0.0);
  for (var kh = 0u; kh < PH; kh++) {
    for (var kw = 0u; kw < PW; kw++) {
      if (isInside(win, kh, kw)) { sum += x[cellAt(p2, win, kh, kw)]; }
    }
  }
  y[win.y] = sum / f32((win.kh.y - win.kh.x) * (win.kw.y - win.kw.x));
}

// A window meeting the block at (d, e): its y index and its count of cells
// inside the image. Past the top or left edge bh − d wraps around and fails
// the bounds check like a window past the bottom.
struct BlockWindow { y: u32, count: u32, ok: bool }

fn blockWindow(s: Params, b: Grid, d: u32, e: u32) -> BlockWindow {
  let oh = b.row - d;
  let ow = b.col - e;
  let kh = inside(oh, SH, PH, s.padTop, s.H);
  let kw = inside(ow, SW, PW, s.padLeft, s.W);
  return BlockWindow(((b.n * s.Ho + oh) * s.Wo + ow) * s.G + b.g, (kh.y - kh.x) * (kw.y - kw.x), oh < s.Ho && ow < s.Wo);
}

// Adds window (d, e)'s gradient g to the block cells it covers: every one of
// them (average pooling), else the cell `winner` alone.
fn spread(acc: ptr<function, array<V, BLOCK>>, d: u32, e: u32, g: V, winner: VU, everyCell: bool) {
  for (var rh = 0u; rh < SH; rh++) {
    for (var rw = 0u; rw < SW; rw++) {
      let kh = d * SH + rh;
      let kw = e * SW + rw;
      if (kh < PH && kw < PW) {
        let hit = VB(everyCell) | (winner == VU(kh * PW + kw));
        (*acc)[rh * SW + rw] += select(V(0.0), g, hit);
      }
    }
  }
}

// Writes the block's cells inside the image (above or left of it, the
// unsigned row or column wraps around and fails the bounds check). Cells no
// window covers (stride > size, or leftovers of 'valid') get their zero.
fn store(s: Params, b: Grid, acc: ptr<function, array<V, BLOCK>>) {
  let o = origin(s, b);
  for (var rh = 0u; rh < SH; rh++) {
    for (var rw = 0u; rw < SW; rw++) {
      let h = b.row * SH + rh - s.padTop;
      let w = b.col * SW + rw - s.padLeft;
      if (h < s.H && w < s.W) { dx[o + (rh * s.W + rw) * s.G] = (*acc)[rh * SW + rw]; }
    }
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn maxPool2dBackward(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let b = grid(p3, gid, wid);
  if (!b.ok) { return; }
  var acc: array<V, BLOCK>;
  for (var d = 0u; d < DH; d++) {
    for (var e = 0u; e < DW; e++) {
      let win = blockWindow(p3, b, d, e);
      if (win.ok) { spread(&acc, d, e, dy[win.y], winners[win.y], false); }
    }
  }
  store(p3, b, &acc);
}

@compute @workgroup_size(WG_X, WG_Y)
fn avgPool2dBackward(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let b = grid(p2, gid, wid);
  if (!b.ok) { return; }
  var acc: array<V, BLOCK>;
  for (var d = 0u; d < DH; d++) {
    for (var e = 0u; e < DW; e++) {
      let win = blockWindow(p2, b, d, e);
      if (win.ok) { spread(&acc, d, e, dy[win.y] / f32(win.count), VU(0u), true); }
    }
  }
  store(p2, b, &acc);
}
