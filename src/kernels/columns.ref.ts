// CPU reference for shaders/columns.wgsl: concatenation over the last axis
// and its backward, the slice of one input's columns.
import { CpuTensor } from './cpu-tensor.ts';
import { concatShape, sliceShape } from './shapes.ts';

export function concatLastAxis(xs: readonly CpuTensor[]): CpuTensor {
  const y = new CpuTensor(concatShape(xs.map((x) => x.shape)));
  const width = y.shape[y.shape.length - 1];
  let start = 0;
  for (const x of xs) {
    const w = x.shape[x.shape.length - 1];
    for (let r = 0; r < x.size / w; r++) y.data.set(x.data.subarray(r * w, (r + 1) * w), r * width + start);
    start += w;
  }
  return y;
}

export function sliceLastAxis(x: CpuTensor, start: number, width: number): CpuTensor {
  const from = x.shape[x.shape.length - 1];
  const y = new CpuTensor(sliceShape(x.shape, start, width));
  for (let r = 0; r < x.size / from; r++) y.data.set(x.data.subarray(r * from + start, r * from + start + width), r * width);
  return y;
}
