// The differentiable primitives on the tape: each forward sits beside its
// backward, and each backward keeps only what it needs (as Burn's and tfjs's
// `inputsToSave`): ReLU its input, max-pool its arg-max, dropout its seed,
// a smooth activation its output.
import type { Conv2dOptions, HiddenActivation, LossName, Pool2dOptions, Tensor } from '../kernels/backend.ts';
import type { Tape, Variable } from './tape.ts';

/** y = conv(x, w) + b with TF's strides and padding. */
export function conv2d<T extends Tensor>(tape: Tape<T>, x: Variable<T>, w: Variable<T>, b: Variable<T>, conv: Conv2dOptions): Variable<T> {
  const B = tape.backend;
  return tape.op([x, w, b], B.conv2dForward(x.value, w.value, b.value, conv), (dy) => {
    if (x.requiresGrad) tape.accumulate(x, B.conv2dBackwardInput(dy, w.value, x.shape, conv));
    if (w.requiresGrad || b.requiresGrad) {
      const { dw, db } = B.conv2dBackwardFilter(x.value, dy, [w.shape[0], w.shape[1]], conv);
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

/** Max pooling; backward routes dy to the kept arg-max. */
export function maxPool2d<T extends Tensor>(tape: Tape<T>, x: Variable<T>, pool: Pool2dOptions): Variable<T> {
  const B = tape.backend;
  const { y, argmax } = B.maxPool2dForward(x.value, pool);
  tape.keep(argmax);
  return tape.op([x], y, (dy) => tape.accumulate(x, B.maxPool2dBackward(dy, argmax, x.shape, pool)));
}

/** Average pooling; backward needs only the shapes. */
export function avgPool2d<T extends Tensor>(tape: Tape<T>, x: Variable<T>, pool: Pool2dOptions): Variable<T> {
  const B = tape.backend;
  return tape.op([x], B.avgPool2dForward(x.value, pool), (dy) => tape.accumulate(x, B.avgPool2dBackward(dy, x.shape, pool)));
}

/**
 * Batch normalisation with x's own statistics (training): the statistics
 * depend on x, so the backward is the full one. Returns them too, for the
 * layer's moving averages.
 */
export function batchNormTraining<T extends Tensor>(tape: Tape<T>, x: Variable<T>, gamma: Variable<T>, beta: Variable<T>, epsilon: number): { y: Variable<T>; mean: T; variance: T } {
  const B = tape.backend;
  const { mean, variance } = B.batchNormStatistics(x.value);
  tape.keep(mean);
  tape.keep(variance);
  const y = tape.op([x, gamma, beta], B.batchNormForward(x.value, mean, variance, gamma.value, beta.value, epsilon), (dy) => {
    const { dx, dgamma, dbeta } = B.batchNormBackward(x.value, dy, mean, variance, gamma.value, epsilon);
    tape.accumulate(x, dx);
    tape.accumulate(gamma, dgamma);
    tape.accumulate(beta, dbeta);
  });
  return { y, mean, variance };
}

/**
 * Batch normalisation with fixed (moving) statistics, as at inference. Only
 * x gets a gradient (a saliency map's): dx = gamma·dy/√(variance + ε), which
 * is the forward itself applied to dy with zero mean and beta.
 */
export function batchNormInference<T extends Tensor>(tape: Tape<T>, x: Variable<T>, mean: T, variance: T, gamma: T, beta: T, epsilon: number): Variable<T> {
  const B = tape.backend;
  return tape.op([x], B.batchNormForward(x.value, mean, variance, gamma, beta, epsilon), (dy) => {
    const zeros = tape.keep(B.fromArray(new Float32Array(variance.shape[0]), variance.shape));
    tape.accumulate(x, B.batchNormForward(dy, zeros, variance, gamma, zeros, epsilon));
  });
}

/** tanh, sigmoid or softmax inside the network; backward from the kept output. */
export function activation<T extends Tensor>(tape: Tape<T>, x: Variable<T>, kind: HiddenActivation): Variable<T> {
  const B = tape.backend;
  const y = B.activationForward(x.value, kind);
  return tape.op([x], y, (dy) => tape.accumulate(x, B.activationBackward(y, dy, kind)));
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
  const [n, ...rest] = x.shape;
  return reshape(tape, x, [n, rest.reduce((a, b) => a * b, 1)]);
}

/** x viewed as `shape` (the same values in the same row-major order, Keras's Reshape); dy goes back as x's shape. */
export function reshape<T extends Tensor>(tape: Tape<T>, x: Variable<T>, shape: readonly number[]): Variable<T> {
  const B = tape.backend;
  return tape.op([x], B.reshape(x.value, shape), (dy) => tape.accumulate(x, B.reshape(dy, x.shape)));
}

/** xs side by side along the last axis (Keras's Concatenate); backward slices each input's columns out of dy. */
export function concat<T extends Tensor>(tape: Tape<T>, xs: readonly Variable<T>[]): Variable<T> {
  const B = tape.backend;
  return tape.op([...xs], B.concatLastAxis(xs.map((x) => x.value)), (dy) => {
    let start = 0;
    for (const x of xs) {
      const width = x.shape[x.shape.length - 1];
      if (x.requiresGrad) tape.accumulate(x, B.sliceLastAxis(dy, start, width));
      start += width;
    }
  });
}

/**
 * a + b (Keras's Add): both get dy, each as a view of it, since the tape
 * owns every gradient it is handed once (the buffer pool tolerates a view
 * and its source both being released, as flatten's).
 */
export function add<T extends Tensor>(tape: Tape<T>, a: Variable<T>, b: Variable<T>): Variable<T> {
  const B = tape.backend;
  return tape.op([a, b], B.add(a.value, b.value), (dy) => {
    tape.accumulate(a, B.reshape(dy, dy.shape));
    tape.accumulate(b, B.reshape(dy, dy.shape));
  });
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

/** Starts the backward from `logits` with the gradient `dlogits` (a fused loss's; a saliency map's d score / d logits). */
export function rootLoss<T extends Tensor>(tape: Tape<T>, logits: Variable<T>, dlogits: T): void {
  if (logits.requiresGrad) tape.root(() => tape.accumulate(logits, dlogits));
  else tape.keep(dlogits);
}
