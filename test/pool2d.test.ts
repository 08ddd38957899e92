import { describe, expect, it } from 'vitest';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import * as gpuOps from '../src/kernels/pool2d.ts';
import * as ref from '../src/kernels/pool2d.ref.ts';
import type { Padding, Pool2dOptions } from '../src/kernels/backend.ts';
import { POOL_2X2_SAME, pooledShape, window2d } from '../src/kernels/shapes.ts';
import { expectClose, relativeError } from './support/compare.ts';
import { useGpu } from './support/gpu.ts';
import { numericGradient, projection } from './support/gradcheck.ts';
import { randomTensor, rng, TEST_SEED } from './support/random.ts';
import { FINITE_DIFFERENCES, GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();
const random = rng(TEST_SEED);

const pool = (size: [number, number], strides: [number, number], padding: Padding): Pool2dOptions => ({ size, strides, padding });
const describePool = ({ size, strides, padding }: Pool2dOptions) => `${size.join('×')}/${strides.join('×')} ${padding}`;

/**
 * Random values rounded to float32, so that the GPU sees exactly the CPU's
 * values and both meet the same ties (two float64 values can round to one
 * float32 and tie on the GPU alone).
 */
function float32Tensor(shape: readonly number[], scale = 1): CpuTensor {
  const t = randomTensor(shape, random, scale);
  t.data.set(t.data.map(Math.fround));
  return t;
}

/** GPU y, argmax and dx of max pooling, y and dx of average pooling, against the CPU reference, all outputs poisoned. */
async function compareWithCpu(x: CpuTensor, p: Pool2dOptions): Promise<void> {
  const g = gpu();
  const xg = g.upload(x.data, x.shape);
  const { y, argmax } = ref.maxPool2dForward(x, p);
  const dy = float32Tensor(y.shape);
  const dyg = g.upload(dy.data, dy.shape);
  const max = gpuOps.maxPool2dForward(g, xg, p);
  expect(max.y.shape).toEqual(y.shape);
  expect(max.argmax.dtype).toBe('u32');
  expectClose(await g.read(max.y), y.data, GPU_VS_CPU, 'max y');
  expect([...(await g.readU32(max.argmax))], `argmax (seed ${TEST_SEED})`).toEqual([...argmax.data]);
  const maxDx = gpuOps.maxPool2dBackward(g, dyg, max.argmax, x.shape, p);
  expectClose(await g.read(maxDx), ref.maxPool2dBackward(dy, argmax, x.shape, p).data, GPU_VS_CPU, 'max dx');
  const avg = gpuOps.avgPool2dForward(g, xg, p);
  expect(avg.shape).toEqual(y.shape);
  expectClose(await g.read(avg), ref.avgPool2dForward(x, p).data, GPU_VS_CPU, 'avg y');
  const avgDx = gpuOps.avgPool2dBackward(g, dyg, x.shape, p);
  expectClose(await g.read(avgDx), ref.avgPool2dBackward(dy, x.shape, p).data, GPU_VS_CPU, 'avg dx');
  [xg, dyg, max.y, max.argmax, maxDx, avg, avgDx].forEach((t) => t.dispose());
}

/**
 * For each window, in y's order: its cells (kh·PW + kw) inside the image and
 * their x indices, from window2d's formula (an oracle written apart from the
 * reference's walk).
 */
function windows(shape: readonly number[], p: Pool2dOptions): { cells: number[]; at: (cell: number) => number }[] {
  const [N, H, W, C] = shape;
  const w = window2d('test', H, W, p.size, p);
  const row = (oh: number, cell: number) => oh * w.SH - w.padTop + Math.floor(cell / w.KW);
  const col = (ow: number, cell: number) => ow * w.SW - w.padLeft + (cell % w.KW);
  const out = [];
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < w.Ho; oh++) {
      for (let ow = 0; ow < w.Wo; ow++) {
        for (let c = 0; c < C; c++) {
          const cells = Array.from({ length: w.KH * w.KW }, (_, k) => k).filter((k) => row(oh, k) >= 0 && row(oh, k) < H && col(ow, k) >= 0 && col(ow, k) < W);
          out.push({ cells, at: (k: number) => ((n * H + row(oh, k)) * W + col(ow, k)) * C + c });
        }
      }
    }
  }
  return out;
}

const SAME_3X3_1 = pool([3, 3], [1, 1], 'same');
const VALID_3X3_1 = pool([3, 3], [1, 1], 'valid');
const SAME_3X3_2 = pool([3, 3], [2, 2], 'same');
const VALID_3X3_2 = pool([3, 3], [2, 2], 'valid');

describe('pool2d', () => {
  // The paper's 2×2/2 'same' pools (69→35→18→9, channels 32, 64, 128, at
  // batch 64 for the last), tiny, odd and non-square sizes; more than 65,535
  // grid rows, which the dispatcher splits over several dispatches. braai's
  // 'valid' pools drop an odd leftover row and column. Overlapping windows
  // (stride < size), strides past the window, a rectangular window, and the
  // extremes of 1×1 and 8×8. Channel counts that are multiples of 4 take the
  // vec4 kernels, the others the scalar ones.
  const cases: [number[], Pool2dOptions][] = [
    [[1, 1, 1, 1], POOL_2X2_SAME],
    [[3, 2, 2, 3], POOL_2X2_SAME],
    [[1, 3, 3, 1], POOL_2X2_SAME],
    [[3, 2, 3, 3], POOL_2X2_SAME],
    [[2, 5, 8, 3], POOL_2X2_SAME],
    [[3, 9, 9, 32], POOL_2X2_SAME],
    [[1, 69, 69, 32], POOL_2X2_SAME],
    [[3, 35, 35, 64], POOL_2X2_SAME],
    [[64, 18, 18, 128], POOL_2X2_SAME],
    [[65_537, 2, 1, 1], POOL_2X2_SAME],
    [[65_537, 1, 2, 4], POOL_2X2_SAME],
    [[1, 59, 59, 3], pool([2, 2], [2, 2], 'valid')],
    [[2, 59, 59, 32], pool([2, 2], [2, 2], 'valid')],
    [[1, 25, 25, 1], pool([4, 4], [4, 4], 'valid')],
    [[2, 25, 25, 8], pool([4, 4], [4, 4], 'valid')],
    [[2, 7, 9, 3], SAME_3X3_1],
    [[1, 8, 8, 32], SAME_3X3_1],
    [[2, 7, 9, 1], VALID_3X3_1],
    [[1, 8, 8, 4], VALID_3X3_1],
    [[2, 9, 8, 3], SAME_3X3_2],
    [[1, 10, 11, 32], SAME_3X3_2],
    [[2, 9, 8, 3], VALID_3X3_2],
    [[1, 10, 11, 4], VALID_3X3_2],
    [[2, 7, 10, 1], pool([2, 3], [2, 3], 'same')],
    [[1, 8, 9, 4], pool([2, 3], [1, 2], 'valid')],
    [[2, 10, 10, 3], pool([2, 2], [3, 3], 'valid')],
    [[1, 11, 7, 4], pool([1, 2], [3, 1], 'same')],
    [[2, 3, 4, 3], pool([1, 1], [1, 1], 'valid')],
    [[1, 11, 13, 4], pool([8, 8], [3, 3], 'same')],
    [[1, 9, 8, 1], pool([8, 8], [1, 1], 'valid')],
  ];
  for (const [shape, p] of cases) {
    it(`x=[${shape}] ${describePool(p)}: GPU max and avg y, argmax and dx match the CPU reference`, async () => {
      await compareWithCpu(float32Tensor(shape), p);
    });
  }

  it("'same' pads with the smaller half on top and left, and an average counts only cells inside the image", async () => {
    const g = gpu();
    // x = 1..16 on a 4×4 image: y[0] is the top-left window, y[last] the bottom-right one.
    const x = CpuTensor.from(Array.from({ length: 16 }, (_, i) => i + 1), [1, 4, 4, 1]);
    const checks: [Pool2dOptions, 'max' | 'avg', number, number][] = [
      // Padding 1 in all: none on top, the window at (0, 0) starts at x[0][0].
      [pool([2, 2], [1, 1], 'same'), 'max', 6, 16],
      // Padding 3: 1 on top, 2 below; the first window reads rows and columns -1..2.
      [pool([4, 4], [1, 1], 'same'), 'max', 11, 16],
      [pool([3, 3], [1, 1], 'same'), 'avg', (1 + 2 + 5 + 6) / 4, (11 + 12 + 15 + 16) / 4],
      [pool([4, 4], [1, 1], 'same'), 'avg', (1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11) / 9, (11 + 12 + 15 + 16) / 4],
    ];
    const xg = g.upload(x.data, x.shape);
    for (const [p, kind, first, last] of checks) {
      const cpu = kind === 'max' ? ref.maxPool2dForward(x, p).y : ref.avgPool2dForward(x, p);
      const out = kind === 'max' ? gpuOps.maxPool2dForward(g, xg, p).y : gpuOps.avgPool2dForward(g, xg, p);
      for (const y of [cpu.data, await g.read(out)]) {
        expect(y[0], `${kind} ${describePool(p)}`).toBeCloseTo(first, 5);
        expect(y[y.length - 1], `${kind} ${describePool(p)}`).toBeCloseTo(last, 5);
      }
    }
  });

  for (const [shape, p] of [[[3, 9, 7, 3], POOL_2X2_SAME], [[3, 9, 7, 8], POOL_2X2_SAME], [[2, 8, 9, 3], SAME_3X3_2], [[2, 8, 9, 4], SAME_3X3_1]] as const) {
    it(`x=[${shape}] ${describePool(p)} all negative: padding never wins at a border`, async () => {
      const g = gpu();
      const x = float32Tensor(shape);
      x.data.set(x.data.map((v) => -Math.abs(v)));
      const cpu = ref.maxPool2dForward(x, p);
      const out = gpuOps.maxPool2dForward(g, g.upload(x.data, shape), p);
      const gpuY = await g.read(out.y);
      const gpuArgmax = await g.readU32(out.argmax);
      windows(shape, p).forEach(({ cells, at }, o) => {
        const best = Math.max(...cells.map((cell) => x.data[at(cell)]));
        for (const [y, argmax] of [[cpu.y.data[o], cpu.argmax.data[o]], [gpuY[o], gpuArgmax[o]]]) {
          expect(cells, `window ${o}`).toContain(argmax);
          expect(y, `window ${o}`).toBe(best);
          expect(x.data[at(argmax)], `window ${o}`).toBe(best);
        }
      });
      await compareWithCpu(x, p);
    });
  }

  // Windows that do not overlap, so that each window's ties can be set alone;
  // 3×3/3 'same' on 7×9 pads on top and left too.
  for (const [shape, p] of [[[2, 7, 9, 3], POOL_2X2_SAME], [[2, 7, 9, 4], POOL_2X2_SAME], [[2, 7, 9, 1], pool([3, 3], [3, 3], 'same')], [[1, 8, 9, 4], pool([2, 3], [2, 3], 'same')]] as const) {
    it(`x=[${shape}] ${describePool(p)} exact ties: the first cell in row-major order wins`, async () => {
      const g = gpu();
      const x = new CpuTensor(shape);
      const expected: number[] = [];
      // Each window gets a random non-empty set of real cells tied at its max,
      // and lower values (by at least 1) elsewhere.
      for (const { cells, at } of windows(shape, p)) {
        const top = Math.round(random() * 20 - 10) + 0.5;
        const tied = cells.filter(() => random() < 0.5);
        if (tied.length === 0) tied.push(cells[Math.floor(random() * cells.length)]);
        for (const cell of cells) x.data[at(cell)] = tied.includes(cell) ? top : top - 1 - Math.round(random() * 4);
        expected.push(Math.min(...tied));
      }
      expect([...ref.maxPool2dForward(x, p).argmax.data]).toEqual(expected);
      const out = gpuOps.maxPool2dForward(g, g.upload(x.data, shape), p);
      expect([...(await g.readU32(out.argmax))]).toEqual(expected);
      await compareWithCpu(x, p);
    });
  }

  it('a window larger than a valid input throws', () => {
    const g = gpu();
    const x = float32Tensor([1, 3, 5, 2]);
    const xg = g.upload(x.data, x.shape);
    for (const p of [pool([4, 4], [1, 1], 'valid'), pool([2, 6], [2, 2], 'valid')]) {
      expect(() => pooledShape(x.shape, p)).toThrow(Error);
      expect(() => ref.maxPool2dForward(x, p)).toThrow(/does not fit/);
      expect(() => ref.avgPool2dForward(x, p)).toThrow(/does not fit/);
      expect(() => gpuOps.maxPool2dForward(g, xg, p)).toThrow(/does not fit/);
      expect(() => gpuOps.avgPool2dForward(g, xg, p)).toThrow(/does not fit/);
    }
    xg.dispose();
  });

  const fdCases: [number[], Pool2dOptions][] = [
    [[1, 1, 1, 1], POOL_2X2_SAME],
    [[2, 5, 4, 3], POOL_2X2_SAME],
    [[1, 6, 7, 2], pool([2, 2], [2, 2], 'valid')],
    [[1, 6, 7, 2], SAME_3X3_1],
    [[2, 5, 6, 1], VALID_3X3_1],
    [[1, 7, 6, 2], SAME_3X3_2],
    [[1, 7, 8, 1], pool([2, 3], [1, 2], 'same')],
  ];
  it('CPU max and avg backward match finite differences', () => {
    for (const [shape, p] of fdCases) {
      // Distinct values 0.01 apart, far beyond the FD step: no ties.
      const size = shape.reduce((a, b) => a * b, 1);
      const order = Array.from({ length: size }, (_, i) => i);
      for (let i = size - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      const x = CpuTensor.from(order.map((k) => (k - size / 2 + 0.5) * 0.01), shape);
      const { y, argmax } = ref.maxPool2dForward(x, p);
      const r = randomTensor(y.shape, random);
      const checks: [string, () => Float64Array, Float64Array][] = [
        ['max', () => ref.maxPool2dForward(x, p).y.data, ref.maxPool2dBackward(r, argmax, shape, p).data],
        ['avg', () => ref.avgPool2dForward(x, p).data, ref.avgPool2dBackward(r, shape, p).data],
      ];
      for (const [kind, forward, analytic] of checks) {
        const numeric = numericGradient(() => projection(forward(), r.data), x.data, x.data.keys());
        expect(relativeError([...numeric.values()], analytic), `${kind} x=[${shape}] ${describePool(p)}`).toBeLessThan(FINITE_DIFFERENCES);
      }
    }
  });
});
