// A checkpoint of a tiny network on the paper's 69×69×3 cutouts, for command
// line tests that need a model fast, not a good one: with or without dropout.
import { cpuBackend } from '../../src/kernels/cpu-backend.ts';
import { Sequential } from '../../src/nn/sequential.ts';
import { conv2d, dense, maxPool2d, type ModelSpec } from '../../src/nn/spec.ts';
import { saveCheckpoint } from '../../src/train/checkpoint.ts';

export function tinySpec(dropout: boolean): ModelSpec {
  return {
    inputShape: [69, 69, 3],
    layers: [conv2d(4, 3, { strides: [2, 2], activation: 'relu' }), maxPool2d(4), { type: 'flatten' }, ...(dropout ? [{ type: 'dropout' as const, rate: 0.5 }] : []), dense(2, 'softmax')],
  };
}

/** Writes the tiny network, seeded, as a Handscan checkpoint preprocessed by scale255. */
export async function writeTinyCheckpoint(path: string, dropout: boolean, seed = 7): Promise<void> {
  await saveCheckpoint(path, Sequential.build(tinySpec(dropout), cpuBackend, seed), { preprocess: 'scale255' });
}
