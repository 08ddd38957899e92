// Whole-network helpers for gradient checks on the CPU reference path.
import { cpuBackend } from '../../src/kernels/cpu-backend.ts';
import { CpuTensor } from '../../src/kernels/cpu-tensor.ts';
import { crossEntropyLoss } from '../../src/kernels/cross-entropy.ref.ts';
import { LeakyReLU, Pool2D, type Context } from '../../src/nn/layers.ts';
import { constantInputs, type Inputs, type Model } from '../../src/nn/model.ts';
import type { Sequential } from '../../src/nn/sequential.ts';
import { Tape, Variable } from '../../src/nn/tape.ts';

/**
 * Runs layers[from..] on the CPU from input `h`, returning the model's loss and a
 * signature of every non-differentiable choice made on the way (ReLU signs,
 * max-pool winners): a finite difference is only valid when the signatures at
 * +h and −h agree, i.e. when no kink or tie was crossed.
 */
export function lossFrom(model: Sequential<CpuTensor>, from: number, h: CpuTensor, onehot: CpuTensor, ctx: Context): { loss: number; signature: string } {
  const tape = new Tape(cpuBackend);
  const parts: number[] = [];
  let x = new Variable(h, false);
  for (const layer of model.layers.slice(from)) {
    if (layer instanceof LeakyReLU) {
      let positive = 0;
      for (let i = 0; i < x.value.size; i++) if (x.value.data[i] > 0) positive += i + 1;
      parts.push(positive);
    }
    if (layer instanceof Pool2D && layer.kind === 'max') {
      let sum = 0;
      const { argmax } = cpuBackend.maxPool2dForward(x.value, layer.pool);
      for (let i = 0; i < argmax.size; i++) sum += argmax.data[i] * (i + 1);
      parts.push(sum);
    }
    x = layer.forward(tape, x, ctx);
  }
  const probs = model.head === 'softmax' ? cpuBackend.softmax(x.value) : cpuBackend.sigmoid(x.value);
  return { loss: crossEntropyLoss(probs, onehot, model.lossName), signature: parts.join(',') };
}

/** Activations entering each layer, for restarting the forward pass midway. */
export function layerInputs(model: Sequential<CpuTensor>, x: CpuTensor, ctx: Context): CpuTensor[] {
  const tape = new Tape(cpuBackend);
  const inputs: CpuTensor[] = [];
  let h = new Variable(x, false);
  for (const layer of model.layers) {
    inputs.push(h.value);
    h = layer.forward(tape, h, ctx);
  }
  return inputs;
}

/** Analytic gradients of the model's mean cross-entropy for every parameter (x: the one input, or each by name). */
export function analyticGradients<T extends CpuTensor>(model: Model<T>, x: Inputs<T>, onehot: T, ctx: Context): Float64Array[] {
  const tape = new Tape(model.backend);
  const logits = model.forward(tape, constantInputs(x), ctx);
  model.loss(tape, logits, onehot);
  tape.backward();
  return model.parameters().map((p) => Float64Array.from((p.grad as CpuTensor).data));
}

/** The model's loss on the CPU for its inputs (a network without kinks or ties, so that every finite difference is valid). */
export function graphLoss(model: Model<CpuTensor>, x: Inputs<CpuTensor>, onehot: CpuTensor, ctx: Context): number {
  const logits = model.forward(new Tape(cpuBackend), constantInputs(x), ctx);
  const probs = model.head === 'softmax' ? cpuBackend.softmax(logits.value) : cpuBackend.sigmoid(logits.value);
  return crossEntropyLoss(probs, onehot, model.lossName);
}

/**
 * Every parameter's analytic gradient against central finite differences
 * of the loss, through the whole CPU forward. A step across a ReLU kink or
 * a max-pool tie has no finite difference to compare: it is left out and
 * counted in `crossed`, which callers bound.
 */
export function finiteDifferences(model: Sequential<CpuTensor>, x: CpuTensor, targets: CpuTensor, ctx: Context, step: number): { numeric: number[]; exact: number[]; crossed: number } {
  const analytic = analyticGradients(model, x, targets, ctx);
  const numeric: number[] = [];
  const exact: number[] = [];
  let crossed = 0;
  model.parameters().forEach((p, k) => {
    const values = p.value.data;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      values[i] = v + step;
      const plus = lossFrom(model, 0, x, targets, ctx);
      values[i] = v - step;
      const minus = lossFrom(model, 0, x, targets, ctx);
      values[i] = v;
      if (plus.signature !== minus.signature) {
        crossed++;
        continue;
      }
      numeric.push((plus.loss - minus.loss) / (2 * step));
      exact.push(analytic[k][i]);
    }
  });
  return { numeric, exact, crossed };
}
