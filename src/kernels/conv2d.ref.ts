// CPU references for shaders/conv2d.wgsl, in float64: the obvious loops.
// TF's geometry from shapes.ts's window2d: output pixel (oh, ow) and kernel
// tap (kh, kw) read x at (oh·SH + kh − padTop, ow·SW + kw − padLeft), zeros
// outside the image.
import { CpuTensor } from './cpu-tensor.ts';
import type { Conv2dOptions } from './backend.ts';
import { convBackwardWindow, denseDims, window2d } from './shapes.ts';

/** x N×H×W×C, w KH×KW×C×F, b F → y N×Ho×Wo×F. */
export function conv2dForward(x: CpuTensor, w: CpuTensor, b: CpuTensor, conv: Conv2dOptions): CpuTensor {
  const { N, H, W, C, F, h: KH, w: KW } = denseDims('conv2dForward', [['NHWC', x.shape], ['hwCF', w.shape], ['F', b.shape]]);
  const { Ho, Wo, SH, SW, padTop, padLeft } = window2d('conv2dForward', H, W, [KH, KW], conv);
  const y = new CpuTensor([N, Ho, Wo, F]);
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++) {
        const yAt = ((n * Ho + oh) * Wo + ow) * F;
        for (let f = 0; f < F; f++) y.data[yAt + f] = b.data[f];
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH + kh - padTop;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW + kw - padLeft;
            if (iw < 0 || iw >= W) continue;
            for (let c = 0; c < C; c++) {
              const xv = x.data[((n * H + ih) * W + iw) * C + c];
              const wAt = ((kh * KW + kw) * C + c) * F;
              for (let f = 0; f < F; f++) y.data[yAt + f] += xv * w.data[wAt + f];
            }
          }
        }
      }
  return y;
}

/** dy N×Ho×Wo×F, w KH×KW×C×F → dx of xShape (N×H×W×C): each y[n,oh,ow,f] adds dy·w into the x cells it read. */
export function conv2dBackwardInput(dy: CpuTensor, w: CpuTensor, xShape: readonly number[], conv: Conv2dOptions): CpuTensor {
  const { N, H, W, C, F, h: KH, w: KW } = denseDims('conv2dBackwardInput', [['NHWC', xShape], ['hwCF', w.shape], ['NPQF', dy.shape]]);
  const { Ho, Wo, SH, SW, padTop, padLeft } = convBackwardWindow('conv2dBackwardInput', xShape, dy.shape, [KH, KW], conv);
  const dx = new CpuTensor(xShape);
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++)
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH + kh - padTop;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW + kw - padLeft;
            if (iw < 0 || iw >= W) continue;
            for (let c = 0; c < C; c++) {
              let sum = 0;
              for (let f = 0; f < F; f++) {
                sum += dy.data[((n * Ho + oh) * Wo + ow) * F + f] * w.data[((kh * KW + kw) * C + c) * F + f];
              }
              dx.data[((n * H + ih) * W + iw) * C + c] += sum;
            }
          }
        }
  return dx;
}

/** x N×H×W×C, dy N×Ho×Wo×F → dw KH×KW×C×F (kernel = [KH, KW]), db F. */
export function conv2dBackwardFilter(x: CpuTensor, dy: CpuTensor, kernel: readonly [number, number], conv: Conv2dOptions): { dw: CpuTensor; db: CpuTensor } {
  const { N, H, W, C, F } = denseDims('conv2dBackwardFilter', [['NHWC', x.shape], ['NPQF', dy.shape]]);
  const { KH, KW, Ho, Wo, SH, SW, padTop, padLeft } = convBackwardWindow('conv2dBackwardFilter', x.shape, dy.shape, kernel, conv);
  const dw = new CpuTensor([KH, KW, C, F]);
  const db = new CpuTensor([F]);
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++) {
        const dyAt = ((n * Ho + oh) * Wo + ow) * F;
        for (let f = 0; f < F; f++) db.data[f] += dy.data[dyAt + f];
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH + kh - padTop;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW + kw - padLeft;
            if (iw < 0 || iw >= W) continue;
            for (let c = 0; c < C; c++) {
              const xv = x.data[((n * H + ih) * W + iw) * C + c];
              const dwAt = ((kh * KW + kw) * C + c) * F;
              for (let f = 0; f < F; f++) dw.data[dwAt + f] += xv * dy.data[dyAt + f];
            }
          }
        }
      }
  return { dw, db };
}
