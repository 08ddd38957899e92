// Training repeats its shapes every step, so after the first epoch the buffer
// pool must serve every allocation from its free lists: no growth in GPU
// buffers or bytes over ten epochs.
import { describe, expect, it } from 'vitest';
import { initialModel } from '../src/nn/models.ts';
import { makeOptimizer } from '../src/nn/optimizers.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { epochOrder, predictAll, trainEpoch, type BatchSource } from '../src/train/fit.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { rng, TEST_SEED } from './support/random.ts';

const gpu = useGpu({ inferenceBatch: 8 });

/** `count` random cutouts with random binary labels. */
function randomSource(count: number, random: () => number): BatchSource {
  const size = 69 * 69 * 3;
  const pixels = Float32Array.from({ length: count * size }, () => random());
  const labels = Int32Array.from({ length: count }, () => (random() < 0.5 ? 0 : 1));
  return {
    count,
    classes: 2,
    labels,
    fill(indices, x, targets) {
      for (let i = 0; i < indices.length; i++) {
        x.set(pixels.subarray(indices[i] * size, (indices[i] + 1) * size), i * size);
        targets[i * 2 + labels[indices[i]]] = 1;
      }
    },
  };
}

describe('GPU memory over epochs', () => {
  it('ten epochs of the initial network (batch 8, a partial last batch, validation each epoch) allocate nothing after the first', async () => {
    const g = gpu();
    g.poisonOutputs = false;
    const random = rng(TEST_SEED);
    const train = randomSource(20, random);
    const validation = randomSource(12, random);
    const model = Sequential.build(initialModel(), backendOf(gpu()), TEST_SEED);
    const optimizer = makeOptimizer('rmsprop', backendOf(gpu()), model.parameters());
    const after: { buffers: number; bytes: number; inUse: number }[] = [];
    for (let epoch = 1; epoch <= 10; epoch++) {
      await trainEpoch(model, optimizer, train, epochOrder(train.count, 1, epoch), 8);
      await predictAll(model, validation);
      await g.sync();
      after.push({ buffers: g.pool.numBuffers, bytes: g.pool.numBytesAllocated, inUse: g.pool.numBytesInUse });
    }
    for (const a of after.slice(1)) expect(a).toEqual(after[0]);
    expect(optimizer.iterations).toBe(30);
  });
});
