import { describe, expect, it } from 'vitest';
import * as gpuOps from '../src/kernels/dropout.ts';
import * as ref from '../src/kernels/dropout.ref.ts';
import { expectClose, relativeError } from './support/compare.ts';
import type { Backend, Tensor } from '../src/kernels/backend.ts';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { conv2d, dense, maxPool2d, type ModelSpec } from '../src/nn/spec.ts';
import { Tape, Variable } from '../src/nn/tape.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { numericGradient, projection } from './support/gradcheck.ts';
import { randomTensor, rng, TEST_SEED } from './support/random.ts';
import { DROPOUT_FRACTION, FINITE_DIFFERENCES, FLOAT32_ROUNDING, GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();
const random = rng(TEST_SEED);
const randomU32 = (): number => Math.floor(random() * 2 ** 32);

/** Inputs are never zero, so an output is zero exactly where the mask dropped it. */
const kept = (y: ArrayLike<number>): Uint8Array => Uint8Array.from(y, (v) => (v !== 0 ? 1 : 0));

/** Asserts two masks agree element for element, naming the first disagreement. */
function expectSameMask(a: Uint8Array, b: Uint8Array, what: string): void {
  const first = a.findIndex((v, i) => v !== b[i]);
  expect(first, `${what}: masks differ first at element ${first} (seed ${TEST_SEED})`).toBe(-1);
}

/** Fraction of elements where two masks disagree. */
function disagreement(a: Uint8Array, b: Uint8Array): number {
  let differ = 0;
  for (let i = 0; i < a.length; i++) differ += a[i] ^ b[i];
  return differ / a.length;
}

describe('dropout', () => {
  const cases: [number[], number][] = [
    [[64, 35, 35, 32], 0.25],
    [[128, 9, 9, 128], 0.4],
    [[64, 18, 18, 64], 0.3],
  ];
  for (const [shape, rate] of cases) {
    it(`x=[${shape}] rate=${rate}: keeps 1 − rate, scales kept values by 1/(1 − rate), and uses the CPU's mask`, async () => {
      const g = gpu();
      const x = randomTensor(shape, random);
      const [seed, step] = [randomU32(), randomU32()];
      const xg = g.upload(x.data, shape);
      const x32 = await g.read(xg);
      const y = await g.read(gpuOps.dropoutForward(g, xg, rate, seed, step));
      const cpu = ref.dropoutForward(x, rate, seed, step);
      const mask = kept(y);
      expectSameMask(mask, kept(cpu.data), 'GPU vs CPU');
      let worst = 0;
      for (let i = 0; i < y.length; i++) {
        const want = x32[i] / (1 - rate);
        if (mask[i]) worst = Math.max(worst, Math.abs(y[i] - want) / Math.abs(want));
      }
      expect(worst, 'kept values: largest relative error against x/(1 − rate)').toBeLessThan(FLOAT32_ROUNDING);
      const keptFraction = mask.reduce((a, b) => a + b, 0) / mask.length;
      expect(Math.abs(keptFraction - (1 - rate))).toBeLessThan(DROPOUT_FRACTION * (1 - rate));
      expectClose(y, cpu.data, GPU_VS_CPU, 'forward');
    });
  }

  it('x=[128,9,9,128] rate=0.3: the same (seed, step) repeats the mask; another step or seed draws an independent one', async () => {
    const g = gpu();
    const rate = 0.3;
    const shape = [128, 9, 9, 128];
    const xg = g.upload(randomTensor(shape, random).data, shape);
    const [seed, step] = [randomU32(), randomU32() >>> 1];
    const mask = async (s: number, t: number) => kept(await g.read(gpuOps.dropoutForward(g, xg, rate, s, t)));
    const first = await mask(seed, step);
    expectSameMask(await mask(seed, step), first, 'same seed and step');
    // Independent masks disagree where exactly one keeps: probability 2r(1 − r).
    const independent = 2 * rate * (1 - rate);
    for (const [s, t] of [[seed, step + 1], [(seed ^ 1) >>> 0, step]]) {
      expect(Math.abs(disagreement(await mask(s, t), first) - independent), `seed ${s} step ${t}`).toBeLessThan(DROPOUT_FRACTION * independent);
    }
  });

  const backwardCases: [number[], number][] = [
    [[1, 3, 3, 1], 0.4],
    [[3, 69, 69, 3], 0.25],
    [[128, 128], 0.3],
  ];
  for (const [shape, rate] of backwardCases) {
    it(`dy=[${shape}] rate=${rate}: GPU backward uses the forward's mask and matches the CPU reference`, async () => {
      const g = gpu();
      const x = randomTensor(shape, random);
      const dy = randomTensor(shape, random);
      const [seed, step] = [randomU32(), randomU32()];
      const forward = await g.read(gpuOps.dropoutForward(g, g.upload(x.data, shape), rate, seed, step));
      const dx = await g.read(gpuOps.dropoutBackward(g, g.upload(dy.data, shape), rate, seed, step));
      const cpu = ref.dropoutBackward(dy, rate, seed, step);
      expectSameMask(kept(dx), kept(forward), 'backward vs forward');
      expectSameMask(kept(dx), kept(cpu.data), 'GPU vs CPU');
      expectClose(dx, cpu.data, GPU_VS_CPU, 'backward');
    });
  }

  it('x=[3,9,9,32] rate=0: the identity on both backends', async () => {
    const g = gpu();
    const x = randomTensor([3, 9, 9, 32], random);
    const xg = g.upload(x.data, x.shape);
    expect(await g.read(gpuOps.dropoutForward(g, xg, 0, randomU32(), randomU32()))).toEqual(await g.read(xg));
    expect(ref.dropoutForward(x, 0, randomU32(), randomU32()).data).toEqual(x.data);
  });

  it('CPU backward matches finite differences', () => {
    const x = randomTensor([2, 3, 3, 4], random);
    const r = randomTensor(x.shape, random);
    const [seed, step] = [randomU32(), randomU32()];
    const analytic = ref.dropoutBackward(r, 0.4, seed, step).data;
    const numeric = numericGradient(() => projection(ref.dropoutForward(x, 0.4, seed, step).data, r.data), x.data, x.data.keys());
    expect(relativeError([...numeric.values()], analytic)).toBeLessThan(FINITE_DIFFERENCES);
  });
});

describe('dropout layers in eval mode', () => {
  // The tuned network's shape of use: dropout after pooling and after a dense layer.
  const withDropout: ModelSpec = {
    inputShape: [10, 10, 3],
    layers: [
      conv2d(6, 3, { padding: 'same', activation: 'relu' }),
      maxPool2d(2, 'same'),
      { type: 'dropout', rate: 0.4 },
      { type: 'flatten' },
      dense(12, 'relu'),
      { type: 'dropout', rate: 0.5 },
      dense(2, 'softmax'),
    ],
  };
  const withoutDropout: ModelSpec = { ...withDropout, layers: withDropout.layers.filter((l) => l.type !== 'dropout') };

  it('predict equals the same weights without dropout layers, on both backends, while training-mode outputs differ', async () => {
    for (const backend of [cpuBackend, backendOf(gpu())] as Backend<Tensor>[]) {
      const a = Sequential.build(withDropout, backend, TEST_SEED);
      const b = Sequential.build(withoutDropout, backend, TEST_SEED + 1);
      b.setWeights(await a.getWeights());
      const x = backend.fromArray(randomTensor([4, 10, 10, 3], random).data, [4, 10, 10, 3]);
      const evalA = await backend.toArray(a.predict(x));
      expect([...evalA], `${backend.name} (seed ${TEST_SEED})`).toEqual([...(await backend.toArray(b.predict(x)))]);
      // The same forward pass in training mode drops units: the comparison above can fail.
      const tape = new Tape(backend);
      const logits = a.forward(tape, new Variable(x, false), { training: true, step: 3 });
      const trained = await backend.toArray(backend.softmax(logits.value));
      expect(relativeError(trained, evalA), `${backend.name}: training mode should differ (seed ${TEST_SEED})`).toBeGreaterThan(1e-3);
    }
  });
});
