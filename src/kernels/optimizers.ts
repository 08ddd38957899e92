// Keras 2 RMSprop and Adam on the GPU (shaders/optimizers.wgsl), in place on
// the parameter and its optimizer state.
import type { AdamHyper, RmspropHyper } from './backend.ts';
import { dispatch1d, gpu, type GpuTensor, type Uniform } from './runtime.ts';

/**
 * Keras 2's defaults (keras/optimizers.py: RMSprop(learning_rate=0.001,
 * rho=0.9), Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999), epsilon
 * K.epsilon() = 1e-7), which the paper's notebook used.
 */
export const RMSPROP_DEFAULTS: Readonly<RmspropHyper> = { lr: 0.001, rho: 0.9, epsilon: 1e-7 };
export const ADAM_DEFAULTS: Readonly<Omit<AdamHyper, 't'>> = { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

const WG = 256;

function update(entryPoint: string, tensors: GpuTensor[], uniforms: Uniform[], dynamicUniforms: boolean): void {
  const n = tensors[0].size;
  if (tensors.some((t) => t.size !== n)) {
    throw new Error(`${entryPoint}: param, grad and state sizes differ: ${tensors.map((t) => `[${t.shape}]`).join(' ')}`);
  }
  gpu().run(
    {
      shader: 'optimizers.wgsl',
      entryPoint,
      workgroupSize: [WG, 1, 1],
      dispatch: dispatch1d(n, WG),
      uniforms: [n, ...uniforms],
      dynamicUniforms,
    },
    tensors.map((t) => t.buffer),
  );
}

/** acc = rho·acc + (1 − rho)·g²; param −= lr·g/(√acc + epsilon). */
export function rmspropUpdate(param: GpuTensor, grad: GpuTensor, acc: GpuTensor, h: RmspropHyper): void {
  update('rmspropUpdate', [param, grad, acc], [{ f32: h.lr }, { f32: h.rho }, { f32: h.epsilon }], false);
}

/** m, v moving averages; param −= lr_t·m/(√v + epsilon), lr_t = lr·√(1 − beta2^t)/(1 − beta1^t). */
export function adamUpdate(param: GpuTensor, grad: GpuTensor, m: GpuTensor, v: GpuTensor, h: AdamHyper): void {
  if (!Number.isInteger(h.t) || h.t < 1) throw new Error(`adamUpdate: step t = ${h.t} must be an integer ≥ 1`);
  const lrT = (h.lr * Math.sqrt(1 - h.beta2 ** h.t)) / (1 - h.beta1 ** h.t);
  // lr_t changes every step.
  update('adamUpdate', [param, grad, m, v], [{ f32: lrT }, { f32: h.beta1 }, { f32: h.beta2 }, { f32: h.epsilon }], true);
}
