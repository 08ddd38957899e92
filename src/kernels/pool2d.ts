// Max and average pooling, forward and backward, on the GPU (shaders/pool2d.wgsl).
import { ceilDiv, type Engine, type GpuTensor } from './engine.ts';
import type { Pool2dOptions } from './backend.ts';
import { pooledShape, window2d } from './shapes.ts';

// 64 invocations a workgroup, across channel groups first (up to the next
// power of two of their count, so that 1 or 3 channels waste few lanes), then
// across columns of the grid.
const WG = 64;
const MAX_GROUPS = 65_535;

/**
 * Records `entryPoint` over an x of `xShape`, one invocation per channel
 * group and window (the forward's grid) or SH×SW block of x (the backward's,
 * see the shader), compiled for this window size and channel grouping, in as
 * many dispatches as the 65,535 limit on z requires.
 */
function runPooling(g: Engine, entryPoint: string, grid: 'windows' | 'blocks', xShape: readonly number[], pool: Pool2dOptions, buffers: GPUBuffer[]): void {
  const [N, Ho, Wo] = pooledShape(xShape, pool);
  const [, H, W, C] = xShape;
  const { KH, KW, SH, SW, padTop, padLeft } = window2d('pool2d', H, W, pool.size, pool);
  const [rows, cols] = grid === 'windows' ? [Ho, Wo] : [ceilDiv(H + padTop, SH), ceilDiv(W + padLeft, SW)];
  const vec4 = C % 4 === 0;
  const groups = vec4 ? C / 4 : C;
  const wx = Math.min(WG, 2 ** Math.ceil(Math.log2(groups)));
  for (let z0 = 0; z0 < N * rows; z0 += MAX_GROUPS) {
    g.run(
      {
        shader: [vec4 ? 'pool2d-vec4.wgsl' : 'pool2d-scalar.wgsl', 'pool2d.wgsl'],
        entryPoint,
        workgroupSize: [wx, WG / wx, 1],
        constants: { PH: KH, PW: KW, SH, SW },
        dispatch: [ceilDiv(groups, wx), ceilDiv(cols, WG / wx), Math.min(MAX_GROUPS, N * rows - z0)],
        uniforms: [H, W, groups, Ho, Wo, padTop, padLeft, rows, cols, z0],
      },
      buffers,
    );
  }
}

export function maxPool2dForward(g: Engine, x: GpuTensor, pool: Pool2dOptions): { y: GpuTensor; argmax: GpuTensor } {
  const yShape = pooledShape(x.shape, pool);
  const y = g.empty(yShape);
  const argmax = g.empty(yShape, 'u32');
  runPooling(g, 'maxPool2dForward', 'windows', x.shape, pool, [x.buffer, y.buffer, argmax.buffer]);
  return { y, argmax };
}

export function maxPool2dBackward(g: Engine, dy: GpuTensor, argmax: GpuTensor, xShape: readonly number[], pool: Pool2dOptions): GpuTensor {
  const dx = g.empty(xShape);
  runPooling(g, 'maxPool2dBackward', 'blocks', xShape, pool, [dy.buffer, dx.buffer, argmax.buffer]);
  return dx;
}

export function avgPool2dForward(g: Engine, x: GpuTensor, pool: Pool2dOptions): GpuTensor {
  const y = g.empty(pooledShape(x.shape, pool));
  runPooling(g, 'avgPool2dForward', 'windows', x.shape, pool, [x.buffer, y.buffer]);
  return y;
}

export function avgPool2dBackward(g: Engine, dy: GpuTensor, xShape: readonly number[], pool: Pool2dOptions): GpuTensor {
  const dx = g.empty(xShape);
  runPooling(g, 'avgPool2dBackward', 'blocks', xShape, pool, [dy.buffer, dx.buffer]);
  return dx;
}
