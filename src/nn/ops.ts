// The differentiable primitives on the tape: each forward sits beside its
// backward, and each backward keeps only what it needs (as Burn's and tfjs's
// `inputsToSave`): ReLU its input, max-pool its arg-max, dropout its seed.
import type { LossName, Tensor } from '../kernels/backend.ts';
import type { Tape, Variable } from './tape.ts';

/** y = conv(x, w) + b, 'same', stride 1. */
export function conv2d<T extends Tensor>(tape: Tape<T>, x: Variable<T>, w: Variable<T>, b: Variable<T>): Variable<T> {
  const B = tape.backend;
  return tape.op([x, w, b], B.conv2dForward(x.value, w.value, b.value), (dy) => {
    if (x.requiresGrad) tape.accumulate(x, B.conv2dBackwardInput(dy, w.value));
    if (w.requiresGrad || b.requiresGrad) {
      const { dw, db } = B.conv2dBackwardFilter(x.value, dy, w.shape[0]);
      tape.accumulate(w, dw);
      tape.accumulate(b, db);
    }
  });
}

/** y = x·w + b (one tape op even though its kernel fuses the bias). */
export function dense<T extends Tensor>(tape: Tape<T>, x: Variable<T>, w: Variable<T>, b: Variable<T>): Variable<T> {
  const B = tape.backend;
  return tape.op([x, w, b], B.denseForward(x.value, w.value, b.value), (dy) => {
    if (x.requiresGrad) tape.accumulate(x, B.denseBackwardInput(dy, w.value));
    if (w.requiresGrad || b.requiresGrad) {
      const { dw, db } = B.denseBackwardWeights(x.value, dy);
      tape.accumulate(w, dw);
      tape.accumulate(b, db);
    }
  });
}

/** 2×2 max pool, stride 2, TF 'same'; backward routes dy to the kept arg-max. */
export function maxPool2d<T extends Tensor>(tape: Tape<T>, x: Variable<T>): Variable<T> {
  const B = tape.backend;
  const { y, argmax } = B.maxPool2dForward(x.value);
  tape.keep(argmax);
  return tape.op([x], y, (dy) => tape.accumulate(x, B.maxPool2dBackward(dy, argmax, x.shape)));
}

/** max(x, alpha·x); ReLU is alpha = 0. Keeps x for backward. */
export function leakyRelu<T extends Tensor>(tape: Tape<T>, x: Variable<T>, alpha: number): Variable<T> {
  const B = tape.backend;
  return tape.op([x], B.leakyReluForward(x.value, alpha), (dy) => tape.accumulate(x, B.leakyReluBackward(x.value, dy, alpha)));
}

/** Inverted dropout; the mask is regenerated from (seed, step) in backward, never stored. */
export function dropout<T extends Tensor>(tape: Tape<T>, x: Variable<T>, rate: number, seed: number, step: number): Variable<T> {
  const B = tape.backend;
  return tape.op([x], B.dropoutForward(x.value, rate, seed, step), (dy) => tape.accumulate(x, B.dropoutBackward(dy, rate, seed, step)));
}

/**
 * N×H×W×C → N×(H·W·C), in Keras's (h, w, c) order: a view, no copy. The view
 * and its source share storage; the buffer pool tolerates both being released.
 */
export function flatten<T extends Tensor>(tape: Tape<T>, x: Variable<T>): Variable<T> {
  const B = tape.backend;
  const [n, ...rest] = x.shape;
  const features = rest.reduce((a, b) => a * b, 1);
  return tape.op([x], B.reshape(x.value, [n, features]), (dy) => tape.accumulate(x, B.reshape(dy, x.shape)));
}

/**
 * Softmax + categorical cross-entropy, fused: the forward already computes
 * dlogits, so its backward is a root that needs no incoming gradient.
 * Returns the probabilities (N×C), not a gradient-carrying Variable.
 */
export function softmaxCrossEntropy<T extends Tensor>(tape: Tape<T>, logits: Variable<T>, onehot: T, loss: LossName): T {
  const { probs, dlogits } = tape.backend.softmaxCrossEntropy(logits.value, onehot, loss);
  rootLoss(tape, logits, dlogits);
  return tape.keep(probs);
}

/** Sigmoid + binary cross-entropy, fused likewise (logits N×1). */
export function sigmoidBinaryCrossEntropy<T extends Tensor>(tape: Tape<T>, logits: Variable<T>, targets: T, loss: LossName): T {
  const { probs, dlogits } = tape.backend.sigmoidBinaryCrossEntropy(logits.value, targets, loss);
  rootLoss(tape, logits, dlogits);
  return tape.keep(probs);
}

function rootLoss<T extends Tensor>(tape: Tape<T>, logits: Variable<T>, dlogits: T): void {
  if (logits.requiresGrad) tape.root(() => tape.accumulate(logits, dlogits));
  else tape.keep(dlogits);
}
