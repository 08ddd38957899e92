// 2×2 max pooling forward and backward on the GPU (shaders/maxpool2d.wgsl).
import { dispatch1d, gpu, type GpuTensor, type Program } from './runtime.ts';
import { pooledShape } from './maxpool2d.ref.ts';

const WG = 256;

function pooling(entryPoint: string, xShape: readonly number[], count: number): Program {
  const [N, H, W, C] = xShape;
  const [, Ho, Wo] = pooledShape(xShape);
  return {
    shader: 'maxpool2d.wgsl',
    entryPoint,
    workgroupSize: [WG, 1, 1],
    dispatch: dispatch1d(count, WG),
    uniforms: [N, H, W, C, Ho, Wo],
  };
}

export function maxPool2dForward(x: GpuTensor): { y: GpuTensor; argmax: GpuTensor } {
  const g = gpu();
  const yShape = pooledShape(x.shape);
  const y = g.empty(yShape);
  const argmax = g.empty(yShape, 'u32');
  g.run(pooling('maxPool2dForward', x.shape, y.size), [x.buffer, y.buffer, argmax.buffer]);
  return { y, argmax };
}

export function maxPool2dBackward(dy: GpuTensor, argmax: GpuTensor, xShape: readonly number[]): GpuTensor {
  const g = gpu();
  const dx = g.empty(xShape);
  g.run(pooling('maxPool2dBackward', xShape, dx.size), [dy.buffer, argmax.buffer, dx.buffer]);
  return dx;
}
