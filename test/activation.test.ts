import { describe, expect, it } from 'vitest';
import type { HiddenActivation } from '../src/kernels/backend.ts';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import * as gpuOps from '../src/kernels/activation.ts';
import * as ref from '../src/kernels/activation.ref.ts';
import { expectClose, relativeError } from './support/compare.ts';
import { useGpu } from './support/gpu.ts';
import { numericGradient, projection } from './support/gradcheck.ts';
import { randomTensor, rng, TEST_SEED } from './support/random.ts';
import { FINITE_DIFFERENCES, GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();
const random = rng(TEST_SEED);

describe('leaky ReLU', () => {
  // The kernels do whole vec4s, then a scalar tail of n % 4 values: sizes
  // with every tail length, tail only (n < 4), and the paper's shapes.
  const cases: [number[], number][] = [
    [[1, 1, 1, 1], 0],
    [[1, 3, 3, 1], 0],
    [[2, 5, 5, 3], 0.1],
    [[3, 9, 9, 32], 0.1],
    [[64, 18, 18, 128], 0],
    [[1, 69, 69, 3], 0.1],
  ];
  for (const [shape, alpha] of cases) {
    it(`x=[${shape}] alpha=${alpha}: GPU forward and backward match the CPU reference`, async () => {
      const g = gpu();
      const x = randomTensor(shape, random);
      const dy = randomTensor(shape, random);
      const xg = g.upload(x.data, shape);
      const dyg = g.upload(dy.data, shape);
      expectClose(await g.read(gpuOps.leakyReluForward(g, xg, alpha)), ref.leakyReluForward(x, alpha).data, GPU_VS_CPU, 'forward');
      expectClose(await g.read(gpuOps.leakyReluBackward(g, xg, dyg, alpha)), ref.leakyReluBackward(x, dy, alpha).data, GPU_VS_CPU, 'backward');
    });
  }

  it('CPU backward matches finite differences', () => {
    for (const alpha of [0, 0.1]) {
      const x = randomTensor([2, 3, 3, 4], random);
      const r = randomTensor(x.shape, random);
      const analytic = ref.leakyReluBackward(x, r, alpha).data;
      const numeric = numericGradient(() => projection(ref.leakyReluForward(x, alpha).data, r.data), x.data, x.data.keys());
      expect(relativeError([...numeric.values()], analytic)).toBeLessThan(FINITE_DIFFERENCES);
    }
  });
});

describe('hidden activations', () => {
  const kinds: HiddenActivation[] = ['tanh', 'sigmoid', 'softmax'];
  // Softmax rows of 1, 3 and 10 values and an image whose last axis is its
  // channels; the elementwise kernels' vec4s and tails of 0, 3, 2 and 0.
  const shapes = [[4, 1], [5, 3], [3, 10], [2, 5, 5, 6]];
  for (const kind of kinds) {
    for (const shape of shapes) {
      it(`${kind} x=[${shape}]: GPU forward and backward match the CPU reference`, async () => {
        const g = gpu();
        const x = randomTensor(shape, random, 3);
        const dy = randomTensor(shape, random);
        const y = ref.activationForward(x, kind);
        expectClose(await g.read(gpuOps.activationForward(g, g.upload(x.data, shape), kind)), y.data, GPU_VS_CPU, 'forward');
        // Both backwards from the same y.
        const dx = gpuOps.activationBackward(g, g.upload(y.data, shape), g.upload(dy.data, shape), kind);
        expect(dx.shape).toEqual(shape);
        expectClose(await g.read(dx), ref.activationBackward(y, dy, kind).data, GPU_VS_CPU, 'backward');
      });
    }
  }

  it('CPU backward (from the output) matches finite differences', () => {
    for (const kind of kinds) {
      for (const shape of [[3, 1], [2, 4], [2, 3, 3, 5]]) {
        const x = randomTensor(shape, random, 3);
        const r = randomTensor(shape, random);
        const analytic = ref.activationBackward(ref.activationForward(x, kind), r, kind).data;
        const numeric = numericGradient(() => projection(ref.activationForward(x, kind).data, r.data), x.data, x.data.keys());
        // Softmax over one value is constant: both gradients are 0, which relativeError measures absolutely.
        expect(relativeError([...numeric.values()], analytic), `${kind} x=[${shape}]`).toBeLessThan(FINITE_DIFFERENCES);
      }
    }
  });

  it('stays finite and saturates at |x| = 80', async () => {
    const g = gpu();
    // 13 = three vec4s and a tail, ±80 in several lanes and in the tail; as 13
    // softmax rows of one value, and as one row of 13.
    const x = CpuTensor.from([80, -80, 0.5, -0.5, 80, -80, 80, -80, 1, 2, 3, -80, 80], [13, 1]);
    for (const kind of kinds) {
      for (const shape of [[13, 1], [1, 13]]) {
        const xs = new CpuTensor(shape, x.data);
        const y = ref.activationForward(xs, kind);
        const yg = gpuOps.activationForward(g, g.upload(xs.data, shape), kind);
        expectClose(await g.read(yg), y.data, GPU_VS_CPU, `${kind} [${shape}] forward`);
        const dy = randomTensor(shape, random);
        expectClose(await g.read(gpuOps.activationBackward(g, yg, g.upload(dy.data, shape), kind)), ref.activationBackward(y, dy, kind).data, GPU_VS_CPU, `${kind} [${shape}] backward`);
      }
    }
    const saturated = await g.read(gpuOps.activationForward(g, g.upload([80, -80], [2, 1]), 'tanh'));
    expect([...saturated]).toEqual([1, -1]);
  });

  it('refuses an unknown activation and operands whose shapes disagree', () => {
    const g = gpu();
    const x = randomTensor([2, 3], random);
    const xg = g.upload(x.data, x.shape);
    expect(() => gpuOps.activationForward(g, xg, 'relu' as HiddenActivation)).toThrow(/activation "relu" is none of tanh, sigmoid, softmax/);
    expect(() => ref.activationBackward(x, randomTensor([3, 2], random), 'tanh')).toThrow(/y \[2, 3\] and dy \[3, 2\] must have one shape/);
    expect(() => gpuOps.activationBackward(g, xg, g.upload(new Float32Array(6), [6]), 'softmax')).toThrow(/must have one shape/);
  });
});
