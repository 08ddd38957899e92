// Leaky ReLU forward and backward on the GPU (shaders/activation.wgsl).
import { dispatch1d, gpu, type GpuTensor, type Program } from './runtime.ts';

const WG = 256;

function elementwise(entryPoint: string, n: number, alpha: number): Program {
  return {
    shader: 'activation.wgsl',
    entryPoint,
    workgroupSize: [WG, 1, 1],
    dispatch: dispatch1d(n, WG),
    uniforms: [n, { f32: alpha }],
  };
}

export function leakyReluForward(x: GpuTensor, alpha: number): GpuTensor {
  const g = gpu();
  const y = g.empty(x.shape);
  g.run(elementwise('leakyReluForward', x.size, alpha), [x.buffer, y.buffer]);
  return y;
}

export function leakyReluBackward(x: GpuTensor, dy: GpuTensor, alpha: number): GpuTensor {
  const g = gpu();
  const dx = g.empty(x.shape);
  g.run(elementwise('leakyReluBackward', x.size, alpha), [x.buffer, dy.buffer, dx.buffer]);
  return dx;
}
