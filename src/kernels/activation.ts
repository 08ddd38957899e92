// Leaky ReLU and the hidden activations (tanh, the sigmoid, softmax over the
// last axis) on the GPU: shaders/activation.wgsl, and for the sigmoid and
// softmax themselves cross-entropy.wgsl's inference kernels, which take any
// rows × C (here x's values grouped by its last axis).
import type { HiddenActivation } from './backend.ts';
import { sigmoid, softmax } from './cross-entropy.ts';
import { runElementwise } from './elementwise.ts';
import { dispatch1d, type Engine, type GpuTensor } from './engine.ts';
import { assertHiddenActivation, assertShapesMatch, lastAxis } from './shapes.ts';

/** softmaxBackward's workgroup: one invocation per row. */
const ROW_WG = 64;

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

/** tanh or the sigmoid elementwise, or softmax over the last axis. */
export function activationForward(g: Engine, x: GpuTensor, kind: HiddenActivation): GpuTensor {
  assertHiddenActivation('activationForward', kind);
  const { rows, channels } = lastAxis('activationForward', x);
  if (kind === 'tanh') {
    const y = g.empty(x.shape);
    runElementwise(g, 'activation.wgsl', 'tanhForward', x.size, [], [x.buffer, y.buffer]);
    return y;
  }
  const asRows = x.reshape([rows, channels]);
  return (kind === 'softmax' ? softmax(g, asRows) : sigmoid(g, asRows)).reshape(x.shape);
}

/** dx from the activation's output y and dy. */
export function activationBackward(g: Engine, y: GpuTensor, dy: GpuTensor, kind: HiddenActivation): GpuTensor {
  assertHiddenActivation('activationBackward', kind);
  assertShapesMatch('activationBackward', ['y', y], ['dy', dy]);
  const { rows, channels } = lastAxis('activationBackward', y);
  const dx = g.empty(y.shape);
  const buffers = [y.buffer, dy.buffer, dx.buffer];
  if (kind === 'softmax') {
    g.run({ shader: 'activation.wgsl', entryPoint: 'softmaxBackward', workgroupSize: [ROW_WG, 1, 1], dispatch: dispatch1d(rows, ROW_WG), uniforms: [rows, channels] }, buffers);
  } else {
    runElementwise(g, 'activation.wgsl', 'outputBackward', y.size, [Number(kind === 'sigmoid')], buffers);
  }
  return dx;
}
