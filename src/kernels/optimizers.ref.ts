// CPU references for shaders/optimizers.wgsl, in float64: Keras 2.3
// keras/optimizers.py, RMSprop.get_updates and Adam.get_updates, one element
// at a time, in place on param and the optimizer state.
import type { AdamHyper, RmspropHyper } from './backend.ts';
import type { CpuTensor } from './cpu-tensor.ts';
import { assertAdamStep, assertSameSizes } from './shapes.ts';

export function rmspropUpdate(param: CpuTensor, grad: CpuTensor, acc: CpuTensor, h: RmspropHyper): void {
  assertSameSizes('rmspropUpdate', [param, grad, acc]);
  for (let i = 0; i < param.size; i++) {
    const g = grad.data[i];
    acc.data[i] = h.rho * acc.data[i] + (1 - h.rho) * g * g;
    param.data[i] -= (h.lr * g) / (Math.sqrt(acc.data[i]) + h.epsilon);
  }
}

export function adamUpdate(param: CpuTensor, grad: CpuTensor, m: CpuTensor, v: CpuTensor, h: AdamHyper): void {
  assertSameSizes('adamUpdate', [param, grad, m, v]);
  assertAdamStep(h.t);
  // Keras 2 folds the bias corrections of m and v into the step size.
  const lrT = (h.lr * Math.sqrt(1 - h.beta2 ** h.t)) / (1 - h.beta1 ** h.t);
  for (let i = 0; i < param.size; i++) {
    const g = grad.data[i];
    m.data[i] = h.beta1 * m.data[i] + (1 - h.beta1) * g;
    v.data[i] = h.beta2 * v.data[i] + (1 - h.beta2) * g * g;
    param.data[i] -= (lrT * m.data[i]) / (Math.sqrt(v.data[i]) + h.epsilon);
  }
}
