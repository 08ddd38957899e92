import { describe, expect, it } from 'vitest';
import * as gpuOps from '../src/kernels/elementwise.ts';
import * as ref from '../src/kernels/elementwise.ref.ts';
import { expectClose } from './support/compare.ts';
import { useGpu } from './support/gpu.ts';
import { randomTensor, rng, TEST_SEED } from './support/random.ts';
import { GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();
const random = rng(TEST_SEED);

describe('elementwise add and mul', () => {
  // The kernel does whole vec4s, then a scalar tail of n % 4 values: sizes
  // with every tail length, tail only (n < 4), one vec4 and no tail, and a
  // large one (16,777,219: 4,194,304 vec4s and a tail of 3).
  const shapes = [[1], [3], [4], [2, 3], [5, 7], [3, 9, 9, 32], [64, 18, 18, 128], [16_777_219]];
  for (const op of ['add', 'mul'] as const) {
    for (const shape of shapes) {
      it(`${op} x=[${shape}]: GPU matches the CPU reference`, async () => {
        const g = gpu();
        const a = randomTensor(shape, random);
        const b = randomTensor(shape, random);
        const y = gpuOps[op](g, g.upload(a.data, shape), g.upload(b.data, shape));
        expect(y.shape).toEqual(shape);
        expectClose(await g.read(y), ref[op](a, b).data, GPU_VS_CPU, op);
      });
    }
  }

  it('mul by ones is exact (class weights [1, 1] leave a gradient bit for bit)', async () => {
    const g = gpu();
    const a = randomTensor([5, 7], random);
    const y = await g.read(gpuOps.mul(g, g.upload(a.data, a.shape), g.upload(new Float32Array(a.size).fill(1), a.shape)));
    expect(Array.from(y)).toEqual(Array.from(Float32Array.from(a.data)));
  });

  it('refuses operands of different shapes', () => {
    const g = gpu();
    expect(() => gpuOps.add(g, g.upload([1, 2, 3, 4], [2, 2]), g.upload([1, 2, 3, 4], [4]))).toThrow(/differ/);
    expect(() => ref.add(randomTensor([2, 3], random), randomTensor([3, 2], random))).toThrow(/differ/);
    expect(() => gpuOps.mul(g, g.upload([1, 2, 3, 4], [2, 2]), g.upload([1, 2, 3, 4], [4]))).toThrow(/^mul: .*differ/);
  });
});
