// Leaky ReLU forward and backward on the GPU (shaders/activation.wgsl).
import { runElementwise } from './elementwise.ts';
import { gpu, type GpuTensor } from './runtime.ts';

export function leakyReluForward(x: GpuTensor, alpha: number): GpuTensor {
  const y = gpu().empty(x.shape);
  runElementwise('activation.wgsl', 'leakyReluForward', x.size, [{ f32: alpha }], [x.buffer, y.buffer]);
  return y;
}

export function leakyReluBackward(x: GpuTensor, dy: GpuTensor, alpha: number): GpuTensor {
  const dx = gpu().empty(x.shape);
  runElementwise('activation.wgsl', 'leakyReluBackward', x.size, [{ f32: alpha }], [x.buffer, dy.buffer, dx.buffer]);
  return dx;
}
