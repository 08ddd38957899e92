// The engine can learn: the initial network memorises one fixed batch of 32
// random inputs with random labels on the GPU path.
import { describe, expect, it } from 'vitest';
import { initialModel } from '../src/nn/models.ts';
import { RMSprop } from '../src/nn/optimizers.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { Tape } from '../src/nn/tape.ts';
import { trainStep } from '../src/nn/train-step.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { crossEntropy } from './support/network.ts';
import { randomOneHot, rng, TEST_SEED } from './support/random.ts';

const gpu = useGpu();

describe('overfitting one batch', () => {
  it('initial network, 32 random 69×69×3 inputs, random labels: loss < 0.05 within 300 steps', async () => {
    gpu().poisonOutputs = false;
    const random = rng(TEST_SEED);
    const pixels = Float32Array.from({ length: 32 * 69 * 69 * 3 }, () => random());
    const labels = randomOneHot(32, 2, random);
    const model = Sequential.build(initialModel(), backendOf(gpu()), TEST_SEED);
    const optimizer = new RMSprop(backendOf(gpu()), model.parameters());
    const x = backendOf(gpu()).fromArray(pixels, [32, 69, 69, 3]);
    const onehot = backendOf(gpu()).fromArray(labels.data, [32, 2]);
    const tape = new Tape(backendOf(gpu()));
    const losses: number[] = [];
    for (let step = 1; step <= 300; step++) {
      const probs = trainStep(tape, model, optimizer, x, onehot, step);
      if (step % 10 === 0) losses.push(crossEntropy(await backendOf(gpu()).toArray(probs), labels.data, 2));
      tape.reset(model.parameters());
      backendOf(gpu()).flush();
      if (losses.length > 0 && losses[losses.length - 1] < 0.05) break;
    }
    expect(losses[0]).toBeGreaterThan(0.3);
    expect(losses[losses.length - 1], `losses every 10 steps: ${losses.map((l) => l.toFixed(3)).join(' ')}`).toBeLessThan(0.05);
  });
});
