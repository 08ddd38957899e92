// A small network with every layer type: CPU reference backward through the
// whole tape against float64 finite differences, for every parameter, and
// GPU against CPU.
import { describe, expect, it } from 'vitest';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import type { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import { Sequential } from '../src/nn/sequential.ts';
import type { ModelSpec } from '../src/nn/spec.ts';
import { Tape, Variable } from '../src/nn/tape.ts';
import { expectClose, relativeError } from './support/compare.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { analyticGradients, lossFrom } from './support/network.ts';
import { randomOneHot, randomTensor, rng, TEST_SEED } from './support/random.ts';
import { FD_STEP, FINITE_DIFFERENCES, GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();

const EVERY_LAYER: ModelSpec = {
  inputShape: [9, 7, 3],
  layers: [
    { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' },
    { type: 'leakyrelu', alpha: 0.1 },
    { type: 'maxpool2d' },
    { type: 'dropout', rate: 0.25 },
    { type: 'conv2d', filters: 5, kernelSize: 3, activation: 'linear' },
    { type: 'relu' },
    { type: 'maxpool2d' },
    { type: 'flatten' },
    { type: 'dense', units: 6, activation: 'relu' },
    { type: 'dropout', rate: 0.3 },
    { type: 'dense', units: 3, activation: 'linear' },
    { type: 'softmax' },
  ],
};

describe('a small network with every layer type, x=[3,9,7,3]', () => {
  const ctx = { training: true, step: 11 };

  it('CPU gradients of every parameter match finite differences', () => {
    const random = rng(TEST_SEED);
    const model = Sequential.build(EVERY_LAYER, cpuBackend, TEST_SEED);
    const x = randomTensor([3, 9, 7, 3], random);
    const onehot = randomOneHot(3, 3, random);
    const analytic = analyticGradients(model, x, onehot, ctx);
    const numeric: number[] = [];
    const exact: number[] = [];
    model.parameters().forEach((p, k) => {
      const values = (p.value as CpuTensor).data;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        values[i] = v + FD_STEP;
        const plus = lossFrom(model, 0, x, onehot, ctx);
        values[i] = v - FD_STEP;
        const minus = lossFrom(model, 0, x, onehot, ctx);
        values[i] = v;
        expect(plus.signature, `parameter ${k}[${i}] crossed a kink (seed ${TEST_SEED})`).toBe(minus.signature);
        numeric.push((plus.loss - minus.loss) / (2 * FD_STEP));
        exact.push(analytic[k][i]);
      }
    });
    expect(relativeError(numeric, exact)).toBeLessThan(FINITE_DIFFERENCES);
  });

  it('GPU gradients match the CPU path', async () => {
    gpu();
    const random = rng(TEST_SEED + 1);
    const x = randomTensor([3, 9, 7, 3], random);
    const onehot = randomOneHot(3, 3, random);
    const expected = analyticGradients(Sequential.build(EVERY_LAYER, cpuBackend, TEST_SEED), x, onehot, ctx);
    const model = Sequential.build(EVERY_LAYER, backendOf(gpu()), TEST_SEED);
    const tape = new Tape(backendOf(gpu()));
    const logits = model.forward(tape, new Variable(backendOf(gpu()).fromArray(x.data, x.shape), false), ctx);
    model.loss(tape, logits, backendOf(gpu()).fromArray(onehot.data, onehot.shape));
    tape.backward();
    for (const [i, p] of model.parameters().entries()) {
      expectClose(await backendOf(gpu()).toArray(p.grad!), expected[i], GPU_VS_CPU, `parameter ${i} (${p.name})`);
    }
  });
});
