// Training repeats its shapes every step, so after the first epoch the engine
// must serve everything from what it already holds: no growth in pooled
// buffers or bytes, cached uniform buffers, bind groups or pipelines, and no
// staging buffer left alive, epoch after epoch; for the initial network
// (RMSprop) and the tuned one (Adam, whose step count is a per-step uniform,
// and dropout, whose seed is).
import { describe, expect, it } from 'vitest';
import type { EngineCounts } from '../src/kernels/engine.ts';
import { modelSpec, type ModelName } from '../src/nn/models.ts';
import { makeOptimizer, type OptimizerName } from '../src/nn/optimizers.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { epochOrder, predictAll, trainEpoch } from '../src/train/fit.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { rng, TEST_SEED } from './support/random.ts';
import { randomSource } from './support/random-source.ts';

const gpu = useGpu({ inferenceBatch: 8 });

describe('GPU memory over epochs', () => {
  const cases: [ModelName, OptimizerName, number][] = [
    ['initial', 'rmsprop', 10],
    ['tuned', 'adam', 6],
  ];
  for (const [name, optimizerName, epochs] of cases) {
    it(`${epochs} epochs of the ${name} network with ${optimizerName} (batch 8, a partial last batch, validation each epoch) hold nothing new after the first`, async () => {
      const g = gpu();
      g.poisonOutputs = false;
      const random = rng(TEST_SEED);
      const train = randomSource(20, [69, 69, 3], random);
      const validation = randomSource(12, [69, 69, 3], random);
      const backend = backendOf(g);
      const model = Sequential.build(modelSpec(name), backend, TEST_SEED);
      const optimizer = makeOptimizer(optimizerName, backend, model.parameters());
      const after: (EngineCounts & { inUse: number })[] = [];
      for (let epoch = 1; epoch <= epochs; epoch++) {
        await trainEpoch(model, optimizer, train, epochOrder(train.count, 1, epoch), 8);
        await predictAll(model, validation);
        await g.sync();
        after.push({ ...g.counts(), inUse: g.pool.numBytesInUse });
      }
      for (const [i, a] of after.entries()) expect(a, `after epoch ${i + 1} (seed ${TEST_SEED})`).toEqual(after[0]);
      expect(after[0].stagingBuffers).toBe(0);
      expect(after[0].uniformBuffers).toBeGreaterThan(0);
      expect(after[0].bindGroups).toBeGreaterThan(0);
      expect(optimizer.iterations).toBe(3 * epochs);
    });
  }
});
