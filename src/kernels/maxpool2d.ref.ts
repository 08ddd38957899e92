// CPU references for shaders/maxpool2d.wgsl, in float64. argmax holds the
// winning cell of each window (dy*2+dx) as a float.
import { CpuTensor } from './cpu-tensor.ts';
import { pooledShape } from './shapes.ts';

export function maxPool2dForward(x: CpuTensor): { y: CpuTensor; argmax: CpuTensor } {
  const [N, H, W, C] = x.shape;
  const yShape = pooledShape(x.shape);
  const [, Ho, Wo] = yShape;
  const y = new CpuTensor(yShape);
  const argmax = new CpuTensor(yShape);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++) {
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let cell = 0;
          // Row-major scan with strict >: the first maximum wins; cells past
          // the border are padding and never take part.
          for (let dy = 0; dy < 2 && 2 * oh + dy < H; dy++) {
            for (let dx = 0; dx < 2 && 2 * ow + dx < W; dx++) {
              const v = x.data[((n * H + 2 * oh + dy) * W + 2 * ow + dx) * C + c];
              if (v > best) {
                best = v;
                cell = dy * 2 + dx;
              }
            }
          }
          const o = ((n * Ho + oh) * Wo + ow) * C + c;
          y.data[o] = best;
          argmax.data[o] = cell;
        }
      }
    }
  }
  return { y, argmax };
}

export function maxPool2dBackward(dy: CpuTensor, argmax: CpuTensor, xShape: readonly number[]): CpuTensor {
  const [N, H, W, C] = xShape;
  const [, Ho, Wo] = pooledShape(xShape);
  const dx = new CpuTensor(xShape);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++) {
        for (let c = 0; c < C; c++) {
          const o = ((n * Ho + oh) * Wo + ow) * C + c;
          const cell = argmax.data[o];
          const h = 2 * oh + Math.floor(cell / 2);
          const w = 2 * ow + (cell % 2);
          dx.data[((n * H + h) * W + w) * C + c] += dy.data[o];
        }
      }
    }
  }
  return dx;
}
