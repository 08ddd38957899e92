import { describe, expect, it } from 'vitest';
import * as gpuOps from '../src/kernels/conv2d.ts';
import type { KernelPath } from '../src/kernels/engine.ts';
import * as ref from '../src/kernels/conv2d.ref.ts';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import { expectClose, relativeError } from './support/compare.ts';
import { useGpu } from './support/gpu.ts';
import { numericGradient, projection } from './support/gradcheck.ts';
import { randomTensor, rng, TEST_SEED } from './support/random.ts';
import { FINITE_DIFFERENCES, GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();
const random = rng(TEST_SEED);

/** Both kernel paths where the adapter runs both: the portable one must stay proven too. */
const paths = (): KernelPath[] => (gpu().subgroupSize ? ['portable', 'subgroups'] : ['portable']);

type Direction = 'forward' | 'input' | 'filter';
const ALL: Direction[] = ['forward', 'input', 'filter'];

// [x shape N×H×W×C, K, F, directions checked]. The float64 reference at batch
// 64 costs seconds per direction, so the paper's conv2 and conv3 run all three
// directions at batch 3 and one each at batch 64.
const cases: [number[], number, number, Direction[]][] = [
  [[1, 1, 1, 1], 3, 1, ALL],
  [[3, 2, 2, 3], 3, 5, ALL],
  [[1, 3, 3, 32], 5, 3, ALL],
  [[3, 9, 9, 1], 1, 32, ALL],
  [[2, 5, 9, 6], 3, 22, ALL],
  [[1, 18, 18, 128], 3, 2, ALL],
  [[3, 69, 69, 3], 3, 32, ALL],
  [[3, 35, 35, 32], 3, 64, ALL],
  [[3, 18, 18, 64], 3, 128, ALL],
  [[64, 9, 9, 128], 3, 32, ALL],
  [[64, 69, 69, 3], 3, 32, ALL],
  [[64, 35, 35, 32], 3, 64, ['forward', 'input']],
  [[64, 18, 18, 64], 3, 128, ['filter']],
];

describe('conv2d', () => {
  for (const [xShape, K, F, directions] of cases) {
    const [N, H, W, C] = xShape;
    it(`x=[${xShape}] w=[${K},${K},${C},${F}] same (${directions.join(', ')}): GPU matches the CPU reference`, async () => {
      const g = gpu();
      const x = randomTensor(xShape, random);
      const w = randomTensor([K, K, C, F], random);
      const b = randomTensor([F], random);
      const dy = randomTensor([N, H, W, F], random);
      const [xg, wg, bg, dyg] = [x, w, b, dy].map((t) => g.upload(t.data, t.shape));
      const want = {
        y: directions.includes('forward') ? ref.conv2dForward(x, w, b) : null,
        dx: directions.includes('input') ? ref.conv2dBackwardInput(dy, w) : null,
        filter: directions.includes('filter') ? ref.conv2dBackwardFilter(x, dy, K) : null,
      };
      for (const path of paths()) {
        if (want.y) expectClose(await g.read(gpuOps.conv2dForward(g, xg, wg, bg, path)), want.y.data, GPU_VS_CPU, `y (${path})`);
        if (want.dx) expectClose(await g.read(gpuOps.conv2dBackwardInput(g, dyg, wg, path)), want.dx.data, GPU_VS_CPU, `dx (${path})`);
        if (want.filter) {
          const got = gpuOps.conv2dBackwardFilter(g, xg, dyg, K, path);
          expectClose(await g.read(got.dw), want.filter.dw.data, GPU_VS_CPU, `dw (${path})`);
          expectClose(await g.read(got.db), want.filter.db.data, GPU_VS_CPU, `db (${path})`);
        }
      }
    });
  }

  for (const [xShape, K, F] of [
    [[2, 4, 5, 3], 3, 2],
    [[2, 3, 4, 2], 1, 3],
    [[1, 3, 3, 2], 5, 2],
  ] as [number[], number, number][]) {
    it(`x=[${xShape}] K=${K} F=${F}: CPU backward matches finite differences`, () => {
      const [N, H, W, C] = xShape;
      const x = randomTensor(xShape, random);
      const w = randomTensor([K, K, C, F], random);
      const b = randomTensor([F], random);
      const r = randomTensor([N, H, W, F], random);
      const loss = () => projection(ref.conv2dForward(x, w, b).data, r.data);
      const dx = ref.conv2dBackwardInput(r, w);
      const { dw, db } = ref.conv2dBackwardFilter(x, r, K);
      const check = (analytic: CpuTensor, values: Float64Array) => {
        const numeric = numericGradient(loss, values, values.keys());
        expect(relativeError([...numeric.values()], analytic.data)).toBeLessThan(FINITE_DIFFERENCES);
      };
      check(dx, x.data);
      check(dw, w.data);
      check(db, b.data);
    });
  }
});
