// Softmax and sigmoid on the GPU (shaders/cross-entropy.wgsl): alone for
// inference, and fused with their cross-entropy for training, where they also
// give the gradient of the batch-mean loss, from the logits or through Keras
// 2.2's clip (the shader's CLIPPED). The loss value itself is computed on the
// host from the probabilities (cross-entropy.ref.ts crossEntropySum), when
// training reads them back.
import type { LossName } from './backend.ts';
import { assertSameRows } from './shapes.ts';
import { dispatch1d, type Engine, type GpuTensor, type Program } from './engine.ts';

const WG = 64;

/** One invocation per row for softmax, per element for sigmoid. */
function program(entryPoint: string, shape: readonly number[], perRow: boolean, overrides?: Record<string, number>): Program {
  if (shape.length !== 2) throw new Error(`${entryPoint}: logits [${shape}] must be N×C`);
  const [rows, c] = shape;
  return {
    shader: 'cross-entropy.wgsl',
    entryPoint,
    workgroupSize: [WG, 1, 1],
    dispatch: dispatch1d(perRow ? rows : rows * c, WG),
    uniforms: [rows, c],
    overrides,
  };
}

function probabilities(g: Engine, entryPoint: string, logits: GpuTensor, perRow: boolean): GpuTensor {
  const probs = g.empty(logits.shape);
  g.run(program(entryPoint, logits.shape, perRow), [logits.buffer, probs.buffer]);
  return probs;
}

function fused(g: Engine, entryPoint: string, logits: GpuTensor, targets: GpuTensor, loss: LossName, perRow: boolean): { probs: GpuTensor; dlogits: GpuTensor } {
  assertSameRows(entryPoint, logits, targets);
  const probs = g.empty(logits.shape);
  const dlogits = g.empty(logits.shape);
  g.run(program(entryPoint, logits.shape, perRow, { CLIPPED: Number(loss === 'keras2-clipped') }), [logits.buffer, probs.buffer, targets.buffer, dlogits.buffer]);
  return { probs, dlogits };
}

/** Softmax over the last axis: logits N×C → probs N×C. */
export function softmax(g: Engine, logits: GpuTensor): GpuTensor {
  return probabilities(g, 'softmax', logits, true);
}

/** logits N×1 → σ(logits). */
export function sigmoid(g: Engine, logits: GpuTensor): GpuTensor {
  return probabilities(g, 'sigmoid', logits, false);
}

/** logits N×C, onehot N×C → probs N×C and dlogits = gate·(probs − onehot)/N (gate = 1 from the logits). */
export function softmaxCrossEntropy(g: Engine, logits: GpuTensor, onehot: GpuTensor, loss: LossName): { probs: GpuTensor; dlogits: GpuTensor } {
  return fused(g, 'softmaxCrossEntropy', logits, onehot, loss, true);
}

/** logits N×1, targets N×1 → probs = σ(logits) and dlogits = gate·(probs − targets)/N (gate = 1 from the logits). */
export function sigmoidBinaryCrossEntropy(g: Engine, logits: GpuTensor, targets: GpuTensor, loss: LossName): { probs: GpuTensor; dlogits: GpuTensor } {
  return fused(g, 'sigmoidBinaryCrossEntropy', logits, targets, loss, false);
}
