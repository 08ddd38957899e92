// 2×2 max pooling forward and backward on the GPU (shaders/maxpool2d.wgsl).
import { ceilDiv, type Engine, type GpuTensor } from './engine.ts';
import { pooledShape } from './shapes.ts';

// 64 invocations a workgroup, across channel groups first (up to the next
// power of two of their count, so that 1 or 3 channels waste few lanes), then
// across windows of a row.
const WG = 64;
const MAX_GROUPS = 65_535;

/**
 * Records one invocation per (channel group, window) of an x of `xShape`:
 * the vec4 variant of `entryPoint` where the channels split into vec4s, in
 * as many dispatches as the 65,535 limit on z requires.
 */
function runPooling(g: Engine, entryPoint: string, xShape: readonly number[], buffers: GPUBuffer[]): void {
  const [N, H, W, C] = xShape;
  const [, Ho, Wo] = pooledShape(xShape);
  const vec4 = C % 4 === 0;
  const groups = vec4 ? C / 4 : C;
  const wx = Math.min(WG, 2 ** Math.ceil(Math.log2(groups)));
  for (let z0 = 0; z0 < N * Ho; z0 += MAX_GROUPS) {
    g.run(
      {
        shader: 'maxpool2d.wgsl',
        entryPoint: vec4 ? `${entryPoint}Vec4` : entryPoint,
        workgroupSize: [wx, WG / wx, 1],
        dispatch: [ceilDiv(groups, wx), ceilDiv(Wo, WG / wx), Math.min(MAX_GROUPS, N * Ho - z0)],
        uniforms: [N, H, W, C, Ho, Wo, z0],
      },
      buffers,
    );
  }
}

export function maxPool2dForward(g: Engine, x: GpuTensor): { y: GpuTensor; argmax: GpuTensor } {
  const yShape = pooledShape(x.shape);
  const y = g.empty(yShape);
  const argmax = g.empty(yShape, 'u32');
  runPooling(g, 'maxPool2dForward', x.shape, [x.buffer, y.buffer, argmax.buffer]);
  return { y, argmax };
}

export function maxPool2dBackward(g: Engine, dy: GpuTensor, argmax: GpuTensor, xShape: readonly number[]): GpuTensor {
  const dx = g.empty(xShape);
  runPooling(g, 'maxPool2dBackward', xShape, [dy.buffer, argmax.buffer, dx.buffer]);
  return dx;
}
