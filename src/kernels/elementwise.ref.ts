// CPU reference for shaders/elementwise.wgsl, in float64.
import type { Tensor } from './backend.ts';
import { CpuTensor } from './cpu-tensor.ts';

/** Both backends' add refuses operands of different shapes (there is no broadcasting). */
export function assertSameShape(a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`add: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  }
}

export function add(a: CpuTensor, b: CpuTensor): CpuTensor {
  assertSameShape(a, b);
  const y = new CpuTensor(a.shape);
  for (let i = 0; i < a.size; i++) y.data[i] = a.data[i] + b.data[i];
  return y;
}
