// CPU references for shaders/conv2d.wgsl, in float64: the obvious loops.
// 'same' padding, stride 1, odd K: the kernel's centre P = (K − 1)/2 sits on
// the output pixel, so y[n,h,w,f] reads x rows h − P … h + P (zeros outside).
import { CpuTensor } from './cpu-tensor.ts';

/** x N×H×W×C, w K×K×C×F, b F → y N×H×W×F. */
export function conv2dForward(x: CpuTensor, w: CpuTensor, b: CpuTensor): CpuTensor {
  const [N, H, W, C] = x.shape;
  const [K, , , F] = w.shape;
  const P = (K - 1) / 2;
  const y = new CpuTensor([N, H, W, F]);
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++)
      for (let wo = 0; wo < W; wo++) {
        const yAt = ((n * H + h) * W + wo) * F;
        for (let f = 0; f < F; f++) y.data[yAt + f] = b.data[f];
        for (let kh = 0; kh < K; kh++) {
          const ih = h + kh - P;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < K; kw++) {
            const iw = wo + kw - P;
            if (iw < 0 || iw >= W) continue;
            for (let c = 0; c < C; c++) {
              const xv = x.data[((n * H + ih) * W + iw) * C + c];
              const wAt = ((kh * K + kw) * C + c) * F;
              for (let f = 0; f < F; f++) y.data[yAt + f] += xv * w.data[wAt + f];
            }
          }
        }
      }
  return y;
}

/** dy N×H×W×F, w K×K×C×F → dx N×H×W×C: each y[n,h,w,f] adds dy·w into the x cells it read. */
export function conv2dBackwardInput(dy: CpuTensor, w: CpuTensor): CpuTensor {
  const [N, H, W, F] = dy.shape;
  const [K, , C] = w.shape;
  const P = (K - 1) / 2;
  const dx = new CpuTensor([N, H, W, C]);
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++)
      for (let wo = 0; wo < W; wo++)
        for (let kh = 0; kh < K; kh++) {
          const ih = h + kh - P;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < K; kw++) {
            const iw = wo + kw - P;
            if (iw < 0 || iw >= W) continue;
            for (let c = 0; c < C; c++) {
              let sum = 0;
              for (let f = 0; f < F; f++) {
                sum += dy.data[((n * H + h) * W + wo) * F + f] * w.data[((kh * K + kw) * C + c) * F + f];
              }
              dx.data[((n * H + ih) * W + iw) * C + c] += sum;
            }
          }
        }
  return dx;
}

/** x N×H×W×C, dy N×H×W×F → dw K×K×C×F, db F. */
export function conv2dBackwardFilter(x: CpuTensor, dy: CpuTensor, kernelSize: number): { dw: CpuTensor; db: CpuTensor } {
  const [N, H, W, C] = x.shape;
  const F = dy.shape[3];
  const K = kernelSize;
  const P = (K - 1) / 2;
  const dw = new CpuTensor([K, K, C, F]);
  const db = new CpuTensor([F]);
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++)
      for (let wo = 0; wo < W; wo++) {
        const dyAt = ((n * H + h) * W + wo) * F;
        for (let f = 0; f < F; f++) db.data[f] += dy.data[dyAt + f];
        for (let kh = 0; kh < K; kh++) {
          const ih = h + kh - P;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < K; kw++) {
            const iw = wo + kw - P;
            if (iw < 0 || iw >= W) continue;
            for (let c = 0; c < C; c++) {
              const xv = x.data[((n * H + ih) * W + iw) * C + c];
              const dwAt = ((kh * K + kw) * C + c) * F;
              for (let f = 0; f < F; f++) dw.data[dwAt + f] += xv * dy.data[dyAt + f];
            }
          }
        }
      }
  return { dw, db };
}
