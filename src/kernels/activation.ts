// Leaky ReLU forward and backward on the GPU (shaders/activation.wgsl).
import { runElementwise } from './elementwise.ts';
import type { Engine, GpuTensor } from './engine.ts';

export function leakyReluForward(g: Engine, x: GpuTensor, alpha: number): GpuTensor {
  const y = g.empty(x.shape);
  runElementwise(g, 'activation.wgsl', 'leakyReluForward', x.size, [{ f32: alpha }], [x.buffer, y.buffer]);
  return y;
}

export function leakyReluBackward(g: Engine, x: GpuTensor, dy: GpuTensor, alpha: number): GpuTensor {
  const dx = g.empty(x.shape);
  runElementwise(g, 'activation.wgsl', 'leakyReluBackward', x.size, [{ f32: alpha }], [x.buffer, dy.buffer, dx.buffer]);
  return dx;
}
