// Elementwise add on the GPU (shaders/elementwise.wgsl).
import { dispatch1d, gpu, type GpuTensor } from './runtime.ts';
import { assertSameShape } from './elementwise.ref.ts';

const WG = 256;

export function add(a: GpuTensor, b: GpuTensor): GpuTensor {
  assertSameShape(a, b);
  const g = gpu();
  const y = g.empty(a.shape);
  g.run(
    { shader: 'elementwise.wgsl', entryPoint: 'add', workgroupSize: [WG, 1, 1], dispatch: dispatch1d(a.size, WG), uniforms: [a.size] },
    [a.buffer, b.buffer, y.buffer],
  );
  return y;
}
