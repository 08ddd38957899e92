// The issue-14 symptom: epochs 5 and 6 of a run reported the same training
// loss and accuracy to four digits. Training metrics come from the
// probabilities each step copies into an epoch-long buffer, read back in
// slices; here, on the GPU with more batches than one readback slice and a
// part of a shuffled order as train takes it, they move every epoch while
// the network learns and repeat exactly when the learning rate is 0.
import { describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../src/kernels/backend.ts';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { makeOptimizer } from '../src/nn/optimizers.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { conv2d, dense, maxPool2d, type ModelSpec } from '../src/nn/spec.ts';
import { epochOrder, trainEpoch } from '../src/train/fit.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { rng, TEST_SEED } from './support/random.ts';
import { randomSource } from './support/random-source.ts';

const gpu = useGpu();
const SPEC: ModelSpec = {
  inputShape: [8, 8, 3],
  layers: [conv2d(4, 3, { padding: 'same', activation: 'relu' }), maxPool2d(2, 'same'), { type: 'flatten' }, dense(8, 'relu'), dense(2, 'softmax')],
};

/** Three epochs of 48 of 60 samples in batches of 4 (12 batches: more than one readback slice of 8). */
async function epochs<T extends Tensor>(backend: Backend<T>, lr: number, sameOrder: boolean): Promise<string[]> {
  const source = randomSource(60, SPEC.inputShape, rng(TEST_SEED));
  const model = Sequential.build(SPEC, backend, TEST_SEED);
  const optimizer = makeOptimizer('adam', backend, model.parameters(), 1e-3);
  optimizer.lr = lr;
  const out: string[] = [];
  for (let epoch = 1; epoch <= 3; epoch++) {
    const part = epochOrder(source.count, TEST_SEED, sameOrder ? 1 : epoch).subarray(0, 48);
    const t = await trainEpoch(model, optimizer, source, part, 4);
    out.push(`${(t.loss / t.count).toFixed(6)} ${(t.correct / t.count).toFixed(6)}`);
  }
  return out;
}

describe('training metrics from epoch to epoch', () => {
  for (const backend of ['gpu', 'cpu'] as const) {
    it(`${backend}: they change every epoch while learning, and repeat exactly at learning rate 0 over the same samples`, async () => {
      const b = (backend === 'gpu' ? backendOf(gpu()) : cpuBackend) as Backend<Tensor>;
      const learning = await epochs(b, 1e-3, false);
      expect(new Set(learning).size, learning.join(' | ')).toBe(3);
      const sameSamples = await epochs(b, 1e-3, true);
      expect(new Set(sameSamples).size, sameSamples.join(' | ')).toBe(3);
      const frozen = await epochs(b, 0, true);
      expect(new Set(frozen).size, frozen.join(' | ')).toBe(1);
    });
  }
});
