import { describe, expect, it } from 'vitest';
import * as gpuOps from '../src/kernels/conv2d.ts';
import type { KernelPath } from '../src/kernels/engine.ts';
import * as ref from '../src/kernels/conv2d.ref.ts';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import type { Conv2dOptions, Padding } from '../src/kernels/backend.ts';
import { SAME_STRIDE_1, window2d } from '../src/kernels/shapes.ts';
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

const conv = (padding: Padding, SH = 1, SW = SH): Conv2dOptions => ({ strides: [SH, SW], padding });
const VALID = conv('valid');
const describeConv = ({ strides, padding }: Conv2dOptions) => `${padding} stride ${strides.join('×')}`;

// [x shape N×H×W×C, kernel KH×KW, F, geometry, directions checked]. The
// float64 reference at batch 64 costs seconds per direction, so the paper's
// conv2 and conv3 run all three directions at batch 3 and one each at batch 64.
const cases: [number[], [number, number], number, Conv2dOptions, Direction[]][] = [
  // The paper's 'same' stride 1 and its layers.
  [[1, 1, 1, 1], [3, 3], 1, SAME_STRIDE_1, ALL],
  [[3, 2, 2, 3], [3, 3], 5, SAME_STRIDE_1, ALL],
  [[1, 3, 3, 32], [5, 5], 3, SAME_STRIDE_1, ALL],
  [[3, 9, 9, 1], [1, 1], 32, SAME_STRIDE_1, ALL],
  [[2, 5, 9, 6], [3, 3], 22, SAME_STRIDE_1, ALL],
  [[1, 18, 18, 128], [3, 3], 2, SAME_STRIDE_1, ALL],
  [[3, 69, 69, 3], [3, 3], 32, SAME_STRIDE_1, ALL],
  [[3, 35, 35, 32], [3, 3], 64, SAME_STRIDE_1, ALL],
  [[3, 18, 18, 64], [3, 3], 128, SAME_STRIDE_1, ALL],
  [[64, 9, 9, 128], [3, 3], 32, SAME_STRIDE_1, ALL],
  [[64, 69, 69, 3], [3, 3], 32, SAME_STRIDE_1, ALL],
  [[64, 35, 35, 32], [3, 3], 64, SAME_STRIDE_1, ['forward', 'input']],
  [[64, 18, 18, 64], [3, 3], 128, SAME_STRIDE_1, ['filter']],
  // braai's 'valid' 3×3 layers.
  [[2, 63, 63, 3], [3, 3], 16, VALID, ALL],
  [[2, 29, 29, 16], [3, 3], 32, VALID, ALL],
  // Stride 2 on odd and even sizes: 'same' pads 2 (9) or only below (8, 10);
  // 'valid' on 10 and 8 leaves the last row and column unread.
  [[2, 9, 9, 5], [3, 3], 6, conv('same', 2), ALL],
  [[2, 8, 10, 4], [3, 3], 8, conv('same', 2), ALL],
  [[2, 10, 10, 3], [3, 3], 5, conv('valid', 2), ALL],
  [[1, 8, 9, 7], [2, 2], 4, conv('valid', 2), ALL],
  [[2, 7, 11, 6], [3, 3], 9, conv('same', 2, 1), ALL],
  [[1, 7, 8, 3], [3, 3], 2, conv('valid', 1, 2), ALL],
  // Even kernels: 'same' pads one more row and column below and right than above and left.
  [[2, 7, 6, 3], [2, 2], 5, SAME_STRIDE_1, ALL],
  [[1, 6, 7, 4], [4, 4], 3, SAME_STRIDE_1, ALL],
  [[2, 9, 8, 5], [4, 4], 6, conv('same', 2), ALL],
  // 1×1, 7×7 and rectangular kernels.
  [[2, 5, 5, 6], [1, 1], 3, VALID, ALL],
  [[2, 7, 6, 5], [1, 1], 7, conv('same', 2), ALL],
  [[1, 12, 12, 3], [7, 7], 8, conv('same', 2), ALL],
  [[2, 9, 10, 2], [7, 7], 5, VALID, ALL],
  [[2, 6, 9, 5], [3, 5], 4, SAME_STRIDE_1, ALL],
  [[1, 9, 7, 3], [5, 2], 6, conv('valid', 2), ALL],
];

describe('conv2d', () => {
  for (const [xShape, kernel, F, geometry, directions] of cases) {
    const [N, H, W, C] = xShape;
    const [KH, KW] = kernel;
    const wShape = [KH, KW, C, F];
    it(`x=[${xShape}] w=[${wShape}] ${describeConv(geometry)} (${directions.join(', ')}): GPU matches the CPU reference`, async () => {
      const g = gpu();
      const { Ho, Wo } = window2d('test', H, W, kernel, geometry);
      const yShape = [N, Ho, Wo, F];
      const x = randomTensor(xShape, random);
      const w = randomTensor(wShape, random);
      const b = randomTensor([F], random);
      const dy = randomTensor(yShape, random);
      const [xg, wg, bg, dyg] = [x, w, b, dy].map((t) => g.upload(t.data, t.shape));
      const want = {
        y: directions.includes('forward') ? ref.conv2dForward(x, w, b, geometry) : null,
        dx: directions.includes('input') ? ref.conv2dBackwardInput(dy, w, xShape, geometry) : null,
        filter: directions.includes('filter') ? ref.conv2dBackwardFilter(x, dy, kernel, geometry) : null,
      };
      if (want.y) expect(want.y.shape).toEqual(yShape);
      for (const path of paths()) {
        if (want.y) {
          const y = gpuOps.conv2dForward(g, xg, wg, bg, geometry, path);
          expect(y.shape).toEqual(yShape);
          expectClose(await g.read(y), want.y.data, GPU_VS_CPU, `y (${path})`);
        }
        if (want.dx) {
          const dx = gpuOps.conv2dBackwardInput(g, dyg, wg, xShape, geometry, path);
          expect(dx.shape).toEqual(xShape);
          expectClose(await g.read(dx), want.dx.data, GPU_VS_CPU, `dx (${path})`);
        }
        if (want.filter) {
          const got = gpuOps.conv2dBackwardFilter(g, xg, dyg, kernel, geometry, path);
          expect(got.dw.shape).toEqual(wShape);
          expectClose(await g.read(got.dw), want.filter.dw.data, GPU_VS_CPU, `dw (${path})`);
          expectClose(await g.read(got.db), want.filter.db.data, GPU_VS_CPU, `db (${path})`);
        }
      }
    });
  }

  // [x shape, kernel, F, geometry]: small enough for a finite difference per value.
  for (const [xShape, kernel, F, geometry] of [
    [[2, 4, 5, 3], [3, 3], 2, SAME_STRIDE_1],
    [[2, 3, 4, 2], [1, 1], 3, SAME_STRIDE_1],
    [[1, 3, 3, 2], [5, 5], 2, SAME_STRIDE_1],
    [[2, 5, 6, 2], [3, 3], 2, VALID],
    [[1, 5, 6, 2], [3, 3], 3, conv('same', 2)],
    [[1, 6, 7, 2], [3, 2], 2, conv('valid', 2, 1)],
    [[1, 5, 4, 2], [2, 2], 2, SAME_STRIDE_1],
    [[1, 6, 5, 2], [4, 4], 2, conv('same', 2)],
  ] as [number[], [number, number], number, Conv2dOptions][]) {
    it(`x=[${xShape}] kernel ${kernel.join('×')} F=${F} ${describeConv(geometry)}: CPU backward matches finite differences`, () => {
      const [N, H, W, C] = xShape;
      const { Ho, Wo } = window2d('test', H, W, kernel, geometry);
      const x = randomTensor(xShape, random);
      const w = randomTensor([...kernel, C, F], random);
      const b = randomTensor([F], random);
      const r = randomTensor([N, Ho, Wo, F], random);
      const loss = () => projection(ref.conv2dForward(x, w, b, geometry).data, r.data);
      const dx = ref.conv2dBackwardInput(r, w, xShape, geometry);
      const { dw, db } = ref.conv2dBackwardFilter(x, r, kernel, geometry);
      const check = (analytic: CpuTensor, values: Float64Array) => {
        const numeric = numericGradient(loss, values, values.keys());
        expect(relativeError([...numeric.values()], analytic.data)).toBeLessThan(FINITE_DIFFERENCES);
      };
      check(dx, x.data);
      check(dw, w.data);
      check(db, b.data);
    });
  }

  it('refuses a kernel larger than a valid input, and a dy that is not the output, on both backends', () => {
    const g = gpu();
    const x = randomTensor([1, 3, 3, 2], random);
    const w = randomTensor([4, 4, 2, 1], random);
    const b = randomTensor([1], random);
    const dy = randomTensor([1, 1, 1, 1], random);
    const [xg, wg, bg, dyg] = [x, w, b, dy].map((t) => g.upload(t.data, t.shape));
    const tooLarge = /a 4×4 'valid' window does not fit a 3×3 input/;
    expect(() => ref.conv2dForward(x, w, b, VALID)).toThrow(tooLarge);
    expect(() => gpuOps.conv2dForward(g, xg, wg, bg, VALID)).toThrow(tooLarge);
    expect(() => ref.conv2dBackwardInput(dy, w, x.shape, VALID)).toThrow(tooLarge);
    expect(() => gpuOps.conv2dBackwardInput(g, dyg, wg, x.shape, VALID)).toThrow(tooLarge);
    expect(() => ref.conv2dBackwardFilter(x, dy, [4, 4], VALID)).toThrow(tooLarge);
    expect(() => gpuOps.conv2dBackwardFilter(g, xg, dyg, [4, 4], VALID)).toThrow(tooLarge);
    // 'same' makes the 3×3 output a 1×1 dy does not match.
    const notOutput = /dy \[1, 1, 1, 1\] is not the 3×3 output/;
    expect(() => ref.conv2dBackwardInput(dy, w, x.shape, SAME_STRIDE_1)).toThrow(notOutput);
    expect(() => gpuOps.conv2dBackwardFilter(g, xg, dyg, [4, 4], SAME_STRIDE_1)).toThrow(notOutput);
    [xg, wg, bg, dyg].forEach((t) => t.dispose());
  });
});
