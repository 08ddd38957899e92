// CPU references for shaders/cross-entropy.wgsl, in float64, and the host-side
// loss values. The gradients are derived in the shader's comments.
//
// The loss functions take CpuTensor (float64, with its N×C shape), the CPU
// backend's currency: training wraps the probabilities it reads back with
// `new CpuTensor(shape, await backend.toArray(probs))`.
import { CpuTensor } from './cpu-tensor.ts';

/** Keras's fuzz factor: probabilities are clipped to [EPS, 1 − EPS] before the log. */
export const EPS = 1e-7;

const clip = (q: number): number => Math.min(Math.max(q, EPS), 1 - EPS);
/** The clip's derivative: 1 inside [EPS, 1 − EPS], 0 where the clip took over. */
const clipGate = (q: number): number => (q >= EPS && q <= 1 - EPS ? 1 : 0);

function checkShapes(what: string, a: CpuTensor, b: CpuTensor): void {
  if (a.shape.length !== 2 || a.shape.join() !== b.shape.join()) {
    throw new Error(`${what}: [${a.shape}] and [${b.shape}] must be the same N×C`);
  }
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

/** logits N×C, onehot N×C → probs N×C and dlogits = gate·(probs − onehot)/N. */
export function softmaxCrossEntropy(logits: CpuTensor, onehot: CpuTensor): { probs: CpuTensor; dlogits: CpuTensor } {
  checkShapes('softmaxCrossEntropy', logits, onehot);
  const [rows, c] = logits.shape;
  const probs = softmax(logits);
  const dlogits = new CpuTensor(logits.shape);
  for (let n = 0; n < rows; n++) {
    const base = n * c;
    let gatedTargets = 0;
    for (let j = 0; j < c; j++) gatedTargets += onehot.data[base + j] * clipGate(probs.data[base + j]);
    for (let j = 0; j < c; j++) {
      const q = probs.data[base + j];
      dlogits.data[base + j] = (q * gatedTargets - onehot.data[base + j] * clipGate(q)) / rows;
    }
  }
  return { probs, dlogits };
}

/** logits N×1, targets N×1 → probs = σ(logits) and dlogits = gate·(probs − targets)/N. */
export function sigmoidBinaryCrossEntropy(logits: CpuTensor, targets: CpuTensor): { probs: CpuTensor; dlogits: CpuTensor } {
  checkShapes('sigmoidBinaryCrossEntropy', logits, targets);
  const probs = sigmoid(logits);
  const dlogits = new CpuTensor(logits.shape);
  for (let i = 0; i < logits.size; i++) {
    dlogits.data[i] = (clipGate(probs.data[i]) * (probs.data[i] - targets.data[i])) / logits.size;
  }
  return { probs, dlogits };
}

/** Keras categorical_crossentropy, mean over the batch: mean_n −Σ_c t_c·log(clip p_c). */
export function softmaxCrossEntropyLoss(probs: CpuTensor, onehot: CpuTensor): number {
  checkShapes('softmaxCrossEntropyLoss', probs, onehot);
  let total = 0;
  for (let i = 0; i < probs.size; i++) total -= onehot.data[i] * Math.log(clip(probs.data[i]));
  return total / probs.shape[0];
}

/** Keras binary_crossentropy, mean over all elements: mean −[t·log(clip p) + (1 − t)·log(1 − clip p)]. */
export function binaryCrossEntropyLoss(probs: CpuTensor, targets: CpuTensor): number {
  checkShapes('binaryCrossEntropyLoss', probs, targets);
  let total = 0;
  for (let i = 0; i < probs.size; i++) {
    const q = clip(probs.data[i]);
    const t = targets.data[i];
    total -= t * Math.log(q) + (1 - t) * Math.log(1 - q);
  }
  return total / probs.size;
}
