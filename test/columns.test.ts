import { describe, expect, it } from 'vitest';
import * as gpuOps from '../src/kernels/columns.ts';
import * as ref from '../src/kernels/columns.ref.ts';
import { expectClose } from './support/compare.ts';
import { useGpu } from './support/gpu.ts';
import { randomTensor, rng, TEST_SEED } from './support/random.ts';
import { GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();
const random = rng(TEST_SEED);

describe('concatenation over the last axis and its slices', () => {
  // Flat features (a conv branch beside a metadata vector), images along
  // their channels, and a width-1 column.
  const cases = [
    [[3, 5], [3, 2]],
    [[2, 4, 3, 2], [2, 4, 3, 1], [2, 4, 3, 3]],
    [[1, 1], [1, 7]],
  ];
  for (const shapes of cases) {
    it(`[${shapes.map((s) => `[${s}]`).join(', ')}]: GPU matches the CPU reference, and the slices give the inputs back`, async () => {
      const g = gpu();
      const xs = shapes.map((s) => randomTensor(s, random));
      const want = ref.concatLastAxis(xs);
      const y = gpuOps.concatLastAxis(g, xs.map((x) => g.upload(x.data, x.shape)));
      expect(y.shape).toEqual(want.shape);
      expectClose(await g.read(y), want.data, GPU_VS_CPU, 'concat');
      let start = 0;
      for (const x of xs) {
        const w = x.shape[x.shape.length - 1];
        expect(Array.from(ref.sliceLastAxis(want, start, w).data)).toEqual(Array.from(x.data));
        expectClose(await g.read(gpuOps.sliceLastAxis(g, y, start, w)), x.data, GPU_VS_CPU, `slice at ${start}`);
        start += w;
      }
    });
  }

  it('refuses inputs that differ before the last axis, and columns outside it', () => {
    expect(() => ref.concatLastAxis([randomTensor([2, 3], random), randomTensor([3, 3], random)])).toThrow(/differ before the last axis/);
    expect(() => ref.sliceLastAxis(randomTensor([2, 3], random), 2, 2)).toThrow(/columns 2..4 of a last axis of 3/);
  });
});
