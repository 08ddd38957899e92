// Softmax and sigmoid on the GPU (shaders/cross-entropy.wgsl): alone for
// inference, and fused with their cross-entropy for training, where they also
// give the gradient of the batch-mean loss. The loss value itself is computed
// on the host from the probabilities (cross-entropy.ref.ts), when training
// reads them back.
import { dispatch1d, gpu, type GpuTensor, type Program } from './runtime.ts';

const WG = 64;

/** One invocation per row for softmax, per element for sigmoid. */
function program(entryPoint: string, shape: readonly number[], perRow: boolean): Program {
  if (shape.length !== 2) throw new Error(`${entryPoint}: logits [${shape}] must be N×C`);
  const [rows, c] = shape;
  return {
    shader: 'cross-entropy.wgsl',
    entryPoint,
    workgroupSize: [WG, 1, 1],
    dispatch: dispatch1d(perRow ? rows : rows * c, WG),
    uniforms: [rows, c],
  };
}

function probabilities(entryPoint: string, logits: GpuTensor, perRow: boolean): GpuTensor {
  const g = gpu();
  const probs = g.empty(logits.shape);
  g.run(program(entryPoint, logits.shape, perRow), [logits.buffer, probs.buffer]);
  return probs;
}

function fused(entryPoint: string, logits: GpuTensor, targets: GpuTensor, perRow: boolean): { probs: GpuTensor; dlogits: GpuTensor } {
  if (targets.shape.join() !== logits.shape.join()) {
    throw new Error(`${entryPoint}: logits [${logits.shape}] and targets [${targets.shape}] differ in shape`);
  }
  const g = gpu();
  const probs = g.empty(logits.shape);
  const dlogits = g.empty(logits.shape);
  g.run(program(entryPoint, logits.shape, perRow), [logits.buffer, probs.buffer, targets.buffer, dlogits.buffer]);
  return { probs, dlogits };
}

/** Softmax over the last axis: logits N×C → probs N×C. */
export function softmax(logits: GpuTensor): GpuTensor {
  return probabilities('softmax', logits, true);
}

/** logits N×1 → σ(logits). */
export function sigmoid(logits: GpuTensor): GpuTensor {
  return probabilities('sigmoid', logits, false);
}

/** logits N×C, onehot N×C → probs N×C and dlogits = gate·(probs − onehot)/N. */
export function softmaxCrossEntropy(logits: GpuTensor, onehot: GpuTensor): { probs: GpuTensor; dlogits: GpuTensor } {
  return fused('softmaxCrossEntropy', logits, onehot, true);
}

/** logits N×1, targets N×1 → probs = σ(logits) and dlogits = gate·(probs − targets)/N. */
export function sigmoidBinaryCrossEntropy(logits: GpuTensor, targets: GpuTensor): { probs: GpuTensor; dlogits: GpuTensor } {
  return fused('sigmoidBinaryCrossEntropy', logits, targets, false);
}
