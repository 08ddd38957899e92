// 2×2 max pooling forward and backward on the GPU (shaders/maxpool2d.wgsl).
import { ceilDiv, gpu, type GpuTensor } from './runtime.ts';
import { pooledShape } from './maxpool2d.ref.ts';

// 64 invocations a workgroup, across channels first (up to the next power of
// two of C, so that 1 or 3 channels waste few lanes), then across columns.
const WG = 64;
const MAX_GROUPS = 65_535;

/**
 * Records one invocation per (channel, column, image row) of the output
 * (y for the forward, dx for the backward): `rows` and `cols` are its height
 * and width, in as many dispatches as the 65,535 limit on z requires.
 */
function runPooling(entryPoint: string, xShape: readonly number[], rows: number, cols: number, buffers: GPUBuffer[]): void {
  const [N, H, W, C] = xShape;
  const [, Ho, Wo] = pooledShape(xShape);
  const wx = Math.min(WG, 2 ** Math.ceil(Math.log2(C)));
  for (let z0 = 0; z0 < N * rows; z0 += MAX_GROUPS) {
    gpu().run(
      {
        shader: 'maxpool2d.wgsl',
        entryPoint,
        workgroupSize: [wx, WG / wx, 1],
        dispatch: [ceilDiv(C, wx), ceilDiv(cols, WG / wx), Math.min(MAX_GROUPS, N * rows - z0)],
        uniforms: [N, H, W, C, Ho, Wo, z0],
      },
      buffers,
    );
  }
}

export function maxPool2dForward(x: GpuTensor): { y: GpuTensor; argmax: GpuTensor } {
  const g = gpu();
  const yShape = pooledShape(x.shape);
  const y = g.empty(yShape);
  const argmax = g.empty(yShape, 'u32');
  runPooling('maxPool2dForward', x.shape, yShape[1], yShape[2], [x.buffer, y.buffer, argmax.buffer]);
  return { y, argmax };
}

export function maxPool2dBackward(dy: GpuTensor, argmax: GpuTensor, xShape: readonly number[]): GpuTensor {
  const g = gpu();
  const dx = g.empty(xShape);
  runPooling('maxPool2dBackward', xShape, xShape[1], xShape[2], [dy.buffer, argmax.buffer, dx.buffer]);
  return dx;
}
