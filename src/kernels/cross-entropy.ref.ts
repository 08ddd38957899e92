// CPU references for shaders/cross-entropy.wgsl, in float64, and the host-side
// loss values (crossEntropySum: the one implementation, for training's tally
// and for the tests). The gradients are derived in the shader's comments.
import type { LossName } from './backend.ts';
import { CpuTensor } from './cpu-tensor.ts';
import { assertSameRows } from './shapes.ts';

/** Keras's fuzz factor: its clipped loss clips probabilities to [EPS, 1 − EPS] before the log. */
export const EPS = 1e-7;

/**
 * float32's smallest positive value: the floor of a probability under the
 * loss from the logits. Training's probabilities are float32, so one that
 * underflowed reads as 0; floored here, its loss reads 149·ln 2 ≈ 103.3
 * instead of Infinity.
 */
const FLOAT32_TINY = 2 ** -149;

/** Whether Keras 2.2's clip takes over at probability q: there its loss is flat and its gradient 0. */
export const atClip = (q: number): boolean => !(q >= EPS && q <= 1 - EPS);

/** The clip's derivative at q: 0 where Keras 2.2's clip took over, else 1 (always 1 from the logits). */
const clipGate = (q: number, loss: LossName): number => (loss === 'keras2-clipped' && atClip(q) ? 0 : 1);

/**
 * The loss of an outcome predicted with probability q. Keras 2.2's is
 * −log(clip q). From the logits the loss is logsumexp(z) − z_true (softplus
 * for a sigmoid), which is −log q wherever q is representable: −log q with q
 * floored at FLOAT32_TINY, so that a saturated wrong answer stays finite.
 */
function negLog(q: number, loss: LossName): number {
  return -Math.log(loss === 'keras2-clipped' ? Math.min(Math.max(q, EPS), 1 - EPS) : Math.max(q, FLOAT32_TINY));
}

/**
 * The summed cross-entropy of probability rows `probs` (rows of `width`;
 * width 1 is a sigmoid's p(1)) against `targets` of the same layout (one-hot,
 * soft, or 0/1 for a sigmoid): Σ_n −Σ_c t_c·log p_c, or for a sigmoid
 * Σ_n −[t·log p + (1 − t)·log(1 − p)], the log taken as `loss` takes it.
 * Divided by the rows, it is Keras's categorical_crossentropy or
 * binary_crossentropy. `rowWeights`, when given, weights row n's term by
 * rowWeights[n] (Keras's sample_weight: the loss train weights by class).
 */
export function crossEntropySum(probs: ArrayLike<number>, targets: ArrayLike<number>, width: number, loss: LossName, rowWeights?: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < probs.length; i++) {
    const t = targets[i];
    let term = t * negLog(probs[i], loss);
    if (width === 1) term += (1 - t) * negLog(1 - probs[i], loss);
    total += rowWeights ? rowWeights[Math.floor(i / width)] * term : term;
  }
  return total;
}

/** The batch-mean loss of probabilities N×C against targets N×C (the fused ops' loss). */
export function crossEntropyLoss(probs: CpuTensor, targets: CpuTensor, loss: LossName): number {
  assertSameRows('crossEntropyLoss', probs, targets);
  return crossEntropySum(probs.data, targets.data, probs.shape[1], loss) / probs.shape[0];
}

/** Softmax over the last axis: logits N×C → probs N×C. */
export function softmax(logits: CpuTensor): CpuTensor {
  const [rows, c] = logits.shape;
  const probs = new CpuTensor(logits.shape);
  for (let n = 0; n < rows; n++) {
    const base = n * c;
    let maxval = -Infinity;
    for (let j = 0; j < c; j++) maxval = Math.max(maxval, logits.data[base + j]);
    let sum = 0;
    for (let j = 0; j < c; j++) sum += Math.exp(logits.data[base + j] - maxval);
    for (let j = 0; j < c; j++) probs.data[base + j] = Math.exp(logits.data[base + j] - maxval) / sum;
  }
  return probs;
}

/** logits N×1 → σ(logits). */
export function sigmoid(logits: CpuTensor): CpuTensor {
  const probs = new CpuTensor(logits.shape);
  for (let i = 0; i < logits.size; i++) probs.data[i] = 1 / (1 + Math.exp(-logits.data[i]));
  return probs;
}

/** logits N×C, onehot N×C → probs N×C and dlogits = gate·(probs − onehot)/N (gate = 1 from the logits). */
export function softmaxCrossEntropy(logits: CpuTensor, onehot: CpuTensor, loss: LossName): { probs: CpuTensor; dlogits: CpuTensor } {
  assertSameRows('softmaxCrossEntropy', logits, onehot);
  const [rows, c] = logits.shape;
  const probs = softmax(logits);
  const dlogits = new CpuTensor(logits.shape);
  for (let n = 0; n < rows; n++) {
    const base = n * c;
    let gatedTargets = 0;
    for (let j = 0; j < c; j++) gatedTargets += onehot.data[base + j] * clipGate(probs.data[base + j], loss);
    for (let j = 0; j < c; j++) {
      const q = probs.data[base + j];
      dlogits.data[base + j] = (q * gatedTargets - onehot.data[base + j] * clipGate(q, loss)) / rows;
    }
  }
  return { probs, dlogits };
}

/** logits N×1, targets N×1 → probs = σ(logits) and dlogits = gate·(probs − targets)/N (gate = 1 from the logits). */
export function sigmoidBinaryCrossEntropy(logits: CpuTensor, targets: CpuTensor, loss: LossName): { probs: CpuTensor; dlogits: CpuTensor } {
  assertSameRows('sigmoidBinaryCrossEntropy', logits, targets);
  const probs = sigmoid(logits);
  const dlogits = new CpuTensor(logits.shape);
  for (let i = 0; i < logits.size; i++) {
    dlogits.data[i] = (clipGate(probs.data[i], loss) * (probs.data[i] - targets.data[i])) / logits.size;
  }
  return { probs, dlogits };
}
