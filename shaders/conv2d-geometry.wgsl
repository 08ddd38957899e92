// The convolution geometry both conv2d GEMM files share (the dispatcher,
// src/kernels/conv2d.ts, compiles this file with conv2d.wgsl or with
// conv2d-subgroups.wgsl): the uniform structs of the forward GEMM and the
// filter gradient, and how an output pixel finds its input window.
//   input   N×H×W (rows h, columns w), output N×Ho×Wo (oh, ow),
//   window  KH×KW taps at strides SH, SW, padded by padTop above and padLeft
//           on the left (shapes.ts's window2d: TF's 'valid' and 'same');
//   output pixel m = (n·Ho + oh)·Wo + ow reads input row oh·SH + kh − padTop
//   and column ow·SW + kw − padLeft for tap (kh, kw); reads outside are zero.
// Channels count in vec4s: A4 → B4 for the GEMM, C4 × F4 for the filter.

struct Gemm { N: u32, H: u32, W: u32, Ho: u32, Wo: u32, KH: u32, KW: u32, SH: u32, SW: u32, padTop: u32, padLeft: u32, A4: u32, B4: u32 }
struct Filter { N: u32, H: u32, W: u32, Ho: u32, Wo: u32, KH: u32, KW: u32, SH: u32, SW: u32, padTop: u32, padLeft: u32, C4: u32, F4: u32, chunk: u32 }

// Where output pixel m reads tap (0, 0): its input row h and column w (in
// the padding at the borders) and the vec4 index of x there, x[n, h, w, 0],
// which may lie outside x.
struct PixelAt { h: i32, w: i32, at: i32 }

fn pixelAt(s: Filter, m: u32) -> PixelAt {
  let rows = m / s.Wo;
  let h = i32((rows % s.Ho) * s.SH) - i32(s.padTop);
  let w = i32((m % s.Wo) * s.SW) - i32(s.padLeft);
  return PixelAt(h, w, ((i32((rows / s.Ho) * s.H) + h) * i32(s.W) + w) * i32(s.C4));
}

// The next output pixel's PixelAt, stepped without division (a vector
// division costs more than a whole reduction step on lavapipe) nor
// multiplication.
fn nextPixel(s: Filter, pixel: PixelAt) -> PixelAt {
  var next = pixel;
  next.w += i32(s.SW);
  next.at += i32(s.SW * s.C4);
  let wrap = next.w == i32(s.Wo * s.SW) - i32(s.padLeft);
  next.w = select(next.w, -i32(s.padLeft), wrap);
  next.h = select(next.h, next.h + i32(s.SH), wrap);
  // To the row SH below, back at the row's start.
  next.at = select(next.at, next.at + (i32(s.SH * s.W) - i32(s.Wo * s.SW)) * i32(s.C4), wrap);
  let nextImage = next.h == i32(s.Ho * s.SH) - i32(s.padTop);
  next.h = select(next.h, -i32(s.padTop), nextImage);
  // From the row SH below the last output row's to the next image's first.
  next.at = select(next.at, next.at + (i32(s.H) - i32(s.Ho * s.SH)) * i32(s.W * s.C4), nextImage);
  return next;
}
