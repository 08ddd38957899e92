import { describe, expect, it } from 'vitest';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import * as gpuOps from '../src/kernels/maxpool2d.ts';
import * as ref from '../src/kernels/maxpool2d.ref.ts';
import { pooledShape } from '../src/kernels/shapes.ts';
import { expectClose, relativeError } from './support/compare.ts';
import { useGpu } from './support/gpu.ts';
import { numericGradient, projection } from './support/gradcheck.ts';
import { randomTensor, rng, TEST_SEED } from './support/random.ts';
import { FINITE_DIFFERENCES, GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();
const random = rng(TEST_SEED);

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

/** GPU y, argmax and dx against the CPU reference, all outputs poisoned. */
async function compareWithCpu(x: CpuTensor): Promise<void> {
  const g = gpu();
  const { y, argmax } = ref.maxPool2dForward(x);
  const dy = float32Tensor(y.shape);
  const out = gpuOps.maxPool2dForward(g, g.upload(x.data, x.shape));
  expect(out.y.shape).toEqual(y.shape);
  expect(out.argmax.dtype).toBe('u32');
  expectClose(await g.read(out.y), y.data, GPU_VS_CPU, 'y');
  expect([...(await g.readU32(out.argmax))], `argmax (seed ${TEST_SEED})`).toEqual([...argmax.data]);
  const dx = gpuOps.maxPool2dBackward(g, g.upload(dy.data, dy.shape), out.argmax, x.shape);
  expectClose(await g.read(dx), ref.maxPool2dBackward(dy, argmax, x.shape).data, GPU_VS_CPU, 'dx');
}

/** For each window: the cells (dy*2+dx) that are inside the image. */
function windows(shape: readonly number[]): { n: number; oh: number; ow: number; c: number; cells: number[]; at: (cell: number) => number }[] {
  const [N, H, W, C] = shape;
  const [, Ho, Wo] = pooledShape(shape);
  const out = [];
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++) {
        for (let c = 0; c < C; c++) {
          const cells = [0, 1, 2, 3].filter((cell) => 2 * oh + (cell >> 1) < H && 2 * ow + (cell & 1) < W);
          const at = (cell: number) => ((n * H + 2 * oh + (cell >> 1)) * W + 2 * ow + (cell & 1)) * C + c;
          out.push({ n, oh, ow, c, cells, at });
        }
      }
    }
  }
  return out;
}

describe('maxPool2d', () => {
  // The paper's pools (69→35→18→9, channels 32, 64, 128), tiny and odd sizes,
  // a non-square image; batch 1, 3 and 64; more than 65,535 image rows,
  // which the dispatcher splits over several dispatches. Channel counts that
  // are multiples of 4 take the vec4 kernels, the others the scalar ones.
  const shapes = [
    [1, 1, 1, 1],
    [3, 2, 2, 3],
    [1, 3, 3, 1],
    [3, 2, 3, 3],
    [2, 5, 8, 3],
    [3, 9, 9, 32],
    [1, 69, 69, 32],
    [3, 35, 35, 64],
    [64, 18, 18, 128],
    [65_537, 2, 1, 1],
    [65_537, 1, 2, 4],
  ];
  for (const shape of shapes) {
    it(`x=[${shape}]: GPU y, argmax and dx match the CPU reference`, async () => {
      await compareWithCpu(float32Tensor(shape));
    });
  }

  for (const shape of [[3, 9, 7, 3], [3, 9, 7, 8]]) {
    it(`x=[${shape}] all negative: padding never wins at the odd border`, async () => {
      const g = gpu();
      const x = float32Tensor(shape);
      x.data.set(x.data.map((v) => -Math.abs(v)));
      const cpu = ref.maxPool2dForward(x);
      const out = gpuOps.maxPool2dForward(g, g.upload(x.data, shape));
      const gpuY = await g.read(out.y);
      const gpuArgmax = await g.readU32(out.argmax);
      windows(shape).forEach(({ cells, at }, o) => {
        const best = Math.max(...cells.map((cell) => x.data[at(cell)]));
        for (const [y, argmax] of [[cpu.y.data[o], cpu.argmax.data[o]], [gpuY[o], gpuArgmax[o]]]) {
          expect(cells, `window ${o}`).toContain(argmax);
          expect(y, `window ${o}`).toBe(best);
          expect(x.data[at(argmax)], `window ${o}`).toBe(best);
        }
      });
      await compareWithCpu(x);
    });
  }

  for (const shape of [[2, 7, 9, 3], [2, 7, 9, 4]]) {
    it(`x=[${shape}] exact ties: the first cell in row-major order wins`, async () => {
      const g = gpu();
      const x = new CpuTensor(shape);
      const expected: number[] = [];
      // Each window gets a random non-empty set of real cells tied at its max,
      // and lower values (by at least 1) elsewhere.
      for (const { cells, at } of windows(shape)) {
        const top = Math.round(random() * 20 - 10) + 0.5;
        const tied = cells.filter(() => random() < 0.5);
        if (tied.length === 0) tied.push(cells[Math.floor(random() * cells.length)]);
        for (const cell of cells) x.data[at(cell)] = tied.includes(cell) ? top : top - 1 - Math.round(random() * 4);
        expected.push(Math.min(...tied));
      }
      expect([...ref.maxPool2dForward(x).argmax.data]).toEqual(expected);
      const out = gpuOps.maxPool2dForward(g, g.upload(x.data, shape));
      expect([...(await g.readU32(out.argmax))]).toEqual(expected);
      await compareWithCpu(x);
    });
  }

  it('CPU backward matches finite differences', () => {
    for (const shape of [[1, 1, 1, 1], [1, 3, 3, 1], [2, 5, 4, 3], [1, 6, 7, 2]]) {
      // Distinct values 0.01 apart, far beyond the FD step: no ties.
      const size = shape.reduce((a, b) => a * b, 1);
      const order = Array.from({ length: size }, (_, i) => i);
      for (let i = size - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      const x = CpuTensor.from(order.map((k) => (k - size / 2 + 0.5) * 0.01), shape);
      const { y, argmax } = ref.maxPool2dForward(x);
      const r = randomTensor(y.shape, random);
      const analytic = ref.maxPool2dBackward(r, argmax, shape).data;
      const numeric = numericGradient(() => projection(ref.maxPool2dForward(x).y.data, r.data), x.data, x.data.keys());
      expect(relativeError([...numeric.values()], analytic), `x=[${shape}]`).toBeLessThan(FINITE_DIFFERENCES);
    }
  });
});
