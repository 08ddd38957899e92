import { describe, expect, it } from 'vitest';
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
