// Small networks with every layer type: CPU reference backward through the
// whole tape against float64 finite differences, for every parameter, and
// GPU against CPU.
import { describe, expect, it } from 'vitest';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { conv2d, dense, maxPool2d, type ModelSpec } from '../src/nn/spec.ts';
import { Tape, Variable } from '../src/nn/tape.ts';
import { expectClose, relativeError } from './support/compare.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { analyticGradients, finiteDifferences } from './support/network.ts';
import { randomOneHot, randomTensor, rng, TEST_SEED } from './support/random.ts';
import { FD_STEP, FINITE_DIFFERENCES, GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();

/** The paper's layers: 'same' convs, 2×2 pools, Leaky ReLU, dropout, a softmax head. */
const PAPER_LAYERS: ModelSpec = {
  inputShape: [9, 7, 3],
  layers: [
    conv2d(4, 3, { padding: 'same', activation: 'relu' }),
    { type: 'leakyrelu', alpha: 0.1 },
    maxPool2d(2, 'same'),
    { type: 'dropout', rate: 0.25 },
    conv2d(5, 3, { padding: 'same' }),
    { type: 'relu' },
    maxPool2d(2, 'same'),
    { type: 'flatten' },
    dense(6, 'relu'),
    { type: 'dropout', rate: 0.3 },
    dense(3),
    { type: 'activation', activation: 'softmax' },
  ],
};

/**
 * The general Keras layers: 'valid' and strided convs, an even kernel, no
 * bias, batch normalisation after a conv and after a dense layer (training
 * mode, through the batch statistics), average and 'same' max pooling with
 * odd leftovers, tanh, a hidden sigmoid and softmax, and braai's one-unit
 * sigmoid head.
 */
const KERAS_LAYERS: ModelSpec = {
  inputShape: [11, 10, 2],
  layers: [
    conv2d(4, 3, { activation: 'tanh' }),
    conv2d(4, 2, { padding: 'same', strides: [2, 2], useBias: false }),
    { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3, center: true, scale: true },
    { type: 'activation', activation: 'sigmoid' },
    { type: 'avgpool2d', poolSize: [2, 2], strides: [1, 1], padding: 'valid' },
    conv2d(3, 1, { activation: 'softmax' }),
    { type: 'maxpool2d', poolSize: [3, 3], strides: [2, 2], padding: 'same' },
    { type: 'flatten' },
    { type: 'dense', units: 5, useBias: false, activation: 'relu' },
    { type: 'batchnorm', momentum: 0.99, epsilon: 1e-3, center: true, scale: false },
    dense(1, 'sigmoid'),
  ],
};

/** Targets for a model's head: one-hot rows for softmax, 0/1 for a sigmoid unit. */
function targetsFor(model: Sequential<CpuTensor>, n: number, random: () => number): CpuTensor {
  if (model.head === 'softmax') return randomOneHot(n, model.classes, random);
  return CpuTensor.from(Array.from({ length: n }, () => (random() < 0.5 ? 0 : 1)), [n, 1]);
}

for (const [title, spec] of [
  ['the paper', PAPER_LAYERS],
  ['the general Keras', KERAS_LAYERS],
] as const) {
  describe(`a small network with ${title} layers, x=[3,${spec.inputShape}]`, () => {
    const ctx = { training: true, step: 11 };
    const xShape = [3, ...spec.inputShape];

    it('CPU gradients of every parameter match finite differences', () => {
      const random = rng(TEST_SEED);
      const model = Sequential.build(spec, cpuBackend, TEST_SEED);
      const x = randomTensor(xShape, random);
      const targets = targetsFor(model, 3, random);
      const { numeric, exact, crossed } = finiteDifferences(model, x, targets, ctx, FD_STEP);
      expect(crossed, `parameters whose step crossed a kink (seed ${TEST_SEED})`).toBeLessThanOrEqual(0.02 * (numeric.length + crossed));
      expect(relativeError(numeric, exact)).toBeLessThan(FINITE_DIFFERENCES);
    });

    it('GPU gradients and moving statistics match the CPU path', async () => {
      const B = backendOf(gpu());
      const random = rng(TEST_SEED + 1);
      const x = randomTensor(xShape, random);
      const cpu = Sequential.build(spec, cpuBackend, TEST_SEED);
      const targets = targetsFor(cpu, 3, random);
      const expected = analyticGradients(cpu, x, targets, ctx);
      const model = Sequential.build(spec, B, TEST_SEED);
      const tape = new Tape(B);
      const logits = model.forward(tape, new Variable(B.fromArray(x.data, x.shape), false), ctx);
      model.loss(tape, logits, B.fromArray(targets.data, targets.shape));
      tape.backward();
      for (const [i, p] of model.parameters().entries()) {
        expectClose(await B.toArray(p.grad!), expected[i], GPU_VS_CPU, `parameter ${i} (${p.name})`);
      }
      const [want, got] = [await cpu.getWeights(), await model.getWeights()];
      for (const [i, layer] of want.entries()) {
        for (const [j, w] of layer.weights.entries()) expectClose(got[i].weights[j].values, w.values, GPU_VS_CPU, `${layer.name}/${w.name}`);
      }
    });
  });
}
