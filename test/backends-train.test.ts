// After llm.c's test_gpt2: the same training loop (trainEpoch) runs the same
// small network for 10 steps on the GPU and on the float64 CPU reference,
// with dropout, under Adam and under RMSprop; the losses of every step and
// the final weights agree within float32's reach.
import { describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../src/kernels/backend.ts';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { makeOptimizer, type OptimizerName } from '../src/nn/optimizers.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { conv2d, dense, maxPool2d, type ModelSpec } from '../src/nn/spec.ts';
import { trainEpoch, type BatchSource } from '../src/train/fit.ts';
import { expectClose } from './support/compare.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { rng, TEST_SEED } from './support/random.ts';
import { randomSource } from './support/random-source.ts';
import { GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu({ poisonOutputs: false });

const SMALL: ModelSpec = {
  inputShape: [12, 12, 3],
  layers: [
    conv2d(8, 3, { padding: 'same', activation: 'relu' }),
    maxPool2d(2, 'same'),
    { type: 'dropout', rate: 0.25 },
    conv2d(8, 3, { padding: 'same', activation: 'relu' }),
    maxPool2d(2, 'same'),
    { type: 'flatten' },
    dense(16, 'relu'),
    { type: 'dropout', rate: 0.5 },
    dense(2, 'softmax'),
  ],
};
const STEPS = 10;
const BATCH = 8;

/** One trainEpoch call per step, each over its own batch: the loss of every step and the final weights. */
async function train<T extends Tensor>(backend: Backend<T>, optimizerName: OptimizerName, source: BatchSource): Promise<{ losses: number[]; weights: Float32Array[] }> {
  const model = Sequential.build(SMALL, backend, TEST_SEED);
  const optimizer = makeOptimizer(optimizerName, backend, model.parameters(), 0.003);
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const order = Uint32Array.from({ length: BATCH }, (_, i) => (step * BATCH + i) % source.count);
    const t = await trainEpoch(model, optimizer, source, order, BATCH);
    losses.push(t.loss / t.count);
  }
  const weights = (await model.getWeights()).flatMap((l) => l.weights.map((w) => w.values));
  return { losses, weights };
}

describe(`${STEPS} training steps of a small network with dropout, GPU against the CPU reference (seed ${TEST_SEED})`, () => {
  for (const optimizer of ['adam', 'rmsprop'] as const) {
    it(`${optimizer}: the same loss at every step and the same final weights`, async () => {
      const source = randomSource(40, SMALL.inputShape, rng(TEST_SEED));
      const cpu = await train(cpuBackend, optimizer, source);
      const dev = await train(backendOf(gpu()), optimizer, source);
      // Training moved: the last loss differs from the first, so equal losses mean something.
      expect(Math.abs(cpu.losses[STEPS - 1] - cpu.losses[0]), `seed ${TEST_SEED}`).toBeGreaterThan(1e-3);
      expectClose(dev.losses, cpu.losses, GPU_VS_CPU, `losses per step (seed ${TEST_SEED})`);
      expect(dev.weights.length).toBe(cpu.weights.length);
      dev.weights.forEach((w, i) => expectClose(w, cpu.weights[i], GPU_VS_CPU, `weight tensor ${i} (seed ${TEST_SEED})`));
    });
  }
});
