// CPU references for shaders/activation.wgsl, in float64.
import { CpuTensor } from './cpu-tensor.ts';

export function leakyReluForward(x: CpuTensor, alpha: number): CpuTensor {
  const y = new CpuTensor(x.shape);
  for (let i = 0; i < x.size; i++) y.data[i] = x.data[i] > 0 ? x.data[i] : alpha * x.data[i];
  return y;
}

export function leakyReluBackward(x: CpuTensor, dy: CpuTensor, alpha: number): CpuTensor {
  const dx = new CpuTensor(x.shape);
  for (let i = 0; i < x.size; i++) dx.data[i] = x.data[i] > 0 ? dy.data[i] : alpha * dy.data[i];
  return dx;
}
