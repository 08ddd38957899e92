// Keras 2 RMSprop and Adam on the GPU (shaders/optimizers.wgsl), in place on
// the parameter and its optimizer state.
import type { AdamHyper, RmspropHyper } from './backend.ts';
import { assertAdamStep, assertSameSizes } from './shapes.ts';
import { dispatch1d, type Engine, type GpuTensor, type Uniform } from './engine.ts';

const WG = 256;

function update(g: Engine, entryPoint: string, tensors: GpuTensor[], uniforms: Uniform[], dynamicUniforms: boolean): void {
  assertSameSizes(entryPoint, tensors);
  const n = tensors[0].size;
  g.run(
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
export function rmspropUpdate(g: Engine, param: GpuTensor, grad: GpuTensor, acc: GpuTensor, h: RmspropHyper): void {
  update(g, 'rmspropUpdate', [param, grad, acc], [{ f32: h.lr }, { f32: h.rho }, { f32: h.epsilon }], false);
}

/** m, v moving averages; param −= lr_t·m/(√v + epsilon), lr_t = lr·√(1 − beta2^t)/(1 − beta1^t). */
export function adamUpdate(g: Engine, param: GpuTensor, grad: GpuTensor, m: GpuTensor, v: GpuTensor, h: AdamHyper): void {
  assertAdamStep(h.t);
  const lrT = (h.lr * Math.sqrt(1 - h.beta2 ** h.t)) / (1 - h.beta1 ** h.t);
  // lr_t changes every step.
  update(g, 'adamUpdate', [param, grad, m, v], [{ f32: lrT }, { f32: h.beta1 }, { f32: h.beta2 }, { f32: h.epsilon }], true);
}
