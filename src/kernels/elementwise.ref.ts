// CPU reference for shaders/elementwise.wgsl, in float64.
import { CpuTensor } from './cpu-tensor.ts';
import { assertSameShape } from './shapes.ts';

export function add(a: CpuTensor, b: CpuTensor): CpuTensor {
  assertSameShape(a, b);
  const y = new CpuTensor(a.shape);
  for (let i = 0; i < a.size; i++) y.data[i] = a.data[i] + b.data[i];
  return y;
}

export function mul(a: CpuTensor, b: CpuTensor): CpuTensor {
  assertSameShape(a, b, 'mul');
  const y = new CpuTensor(a.shape);
  for (let i = 0; i < a.size; i++) y.data[i] = a.data[i] * b.data[i];
  return y;
}
