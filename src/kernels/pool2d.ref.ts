// CPU references for shaders/pool2d.wgsl, in float64. argmax holds the
// winning cell of each window (kh·PW + kw) as a float.
import { CpuTensor } from './cpu-tensor.ts';
import type { Pool2dOptions } from './backend.ts';
import { pooledShape, window2d } from './shapes.ts';

/**
 * Calls `visit` for every window and channel, in y's order, with y's index
 * and the window's cells inside the image (padding takes no part), row-major:
 * their x indices and their kh·PW + kw. The two arrays are reused.
 */
function forEachWindow(xShape: readonly number[], pool: Pool2dOptions, visit: (o: number, at: number[], cells: number[]) => void): void {
  const [N, Ho, Wo, C] = pooledShape(xShape, pool);
  const [, H, W] = xShape;
  const { KH, KW, SH, SW, padTop, padLeft } = window2d('pool2d', H, W, pool.size, pool);
  const at: number[] = [];
  const cells: number[] = [];
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++) {
        for (let c = 0; c < C; c++, o++) {
          at.length = cells.length = 0;
          for (let kh = 0; kh < KH; kh++) {
            const h = oh * SH - padTop + kh;
            for (let kw = 0; kw < KW; kw++) {
              const w = ow * SW - padLeft + kw;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              at.push(((n * H + h) * W + w) * C + c);
              cells.push(kh * KW + kw);
            }
          }
          visit(o, at, cells);
        }
      }
    }
  }
}

export function maxPool2dForward(x: CpuTensor, pool: Pool2dOptions): { y: CpuTensor; argmax: CpuTensor } {
  const y = new CpuTensor(pooledShape(x.shape, pool));
  const argmax = new CpuTensor(y.shape);
  forEachWindow(x.shape, pool, (o, at, cells) => {
    // Strict >: the first maximum in row-major order wins, as TF.
    let best = -Infinity;
    at.forEach((i, j) => {
      if (x.data[i] > best) {
        best = x.data[i];
        argmax.data[o] = cells[j];
      }
    });
    y.data[o] = best;
  });
  return { y, argmax };
}

/** Routes each window's dy to its arg-max cell; overlapping windows add. */
export function maxPool2dBackward(dy: CpuTensor, argmax: CpuTensor, xShape: readonly number[], pool: Pool2dOptions): CpuTensor {
  const dx = new CpuTensor(xShape);
  forEachWindow(xShape, pool, (o, at, cells) => {
    dx.data[at[cells.indexOf(argmax.data[o])]] += dy.data[o];
  });
  return dx;
}

/** A border window of 'same' divides by its cells inside the image, as TF. */
export function avgPool2dForward(x: CpuTensor, pool: Pool2dOptions): CpuTensor {
  const y = new CpuTensor(pooledShape(x.shape, pool));
  forEachWindow(x.shape, pool, (o, at) => {
    y.data[o] = at.reduce((sum, i) => sum + x.data[i], 0) / at.length;
  });
  return y;
}

export function avgPool2dBackward(dy: CpuTensor, xShape: readonly number[], pool: Pool2dOptions): CpuTensor {
  const dx = new CpuTensor(xShape);
  forEachWindow(xShape, pool, (o, at) => {
    for (const i of at) dx.data[i] += dy.data[o] / at.length;
  });
  return dx;
}
