import { describe, expect, it } from 'vitest';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import * as gpuOps from '../src/kernels/dense.ts';
import type { KernelPath } from '../src/kernels/engine.ts';
import * as ref from '../src/kernels/dense.ref.ts';
import { expectClose, relativeError } from './support/compare.ts';
import { useGpu } from './support/gpu.ts';
import { numericGradient, projection } from './support/gradcheck.ts';
import { randomTensor, rng, TEST_SEED } from './support/random.ts';
import { FINITE_DIFFERENCES, GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();
const random = rng(TEST_SEED);

/** All three ops on the GPU (outputs poisoned) against the CPU reference. */
async function compareWithCpu(N: number, K: number, M: number, path: KernelPath): Promise<void> {
  const g = gpu();
  const x = randomTensor([N, K], random);
  const w = randomTensor([K, M], random);
  const b = randomTensor([M], random);
  const dy = randomTensor([N, M], random);
  const [xg, wg, bg, dyg] = [x, w, b, dy].map((t) => g.upload(t.data, t.shape));
  const y = gpuOps.denseForward(g, xg, wg, bg, path);
  const dx = gpuOps.denseBackwardInput(g, dyg, wg, path);
  const { dw, db } = gpuOps.denseBackwardWeights(g, xg, dyg, path);
  expect([y.shape, dx.shape, dw.shape, db.shape]).toEqual([[N, M], [N, K], [K, M], [M]]);
  expectClose(await g.read(y), ref.denseForward(x, w, b).data, GPU_VS_CPU, 'y');
  expectClose(await g.read(dx), ref.denseBackwardInput(dy, w).data, GPU_VS_CPU, 'dx');
  const cpu = ref.denseBackwardWeights(x, dy);
  expectClose(await g.read(dw), cpu.dw.data, GPU_VS_CPU, 'dw');
  expectClose(await g.read(db), cpu.db.data, GPU_VS_CPU, 'db');
}

describe('dense', () => {
  // [N, K, M]: the paper's dense1 (K = 10,368 → 128) and dense2 (128 → 2, 3
  // or 10 classes) at batch 1, 3, 64 and 128; K = 1 and 3; K and M that are
  // not multiples of 4; ragged edge tiles with vec4-aligned rows (5, 100, 12)
  // and a batch that ends mid-block of the weight gradient's depth (130); a
  // depth split unevenly.
  const cases: [number, number, number][] = [
    [1, 1, 1],
    [3, 3, 2],
    [3, 1, 10],
    [1, 7, 3],
    [5, 13, 37],
    [67, 130, 33],
    [5, 100, 12],
    [130, 36, 8],
    [3, 1001, 10],
    [64, 128, 2],
    [128, 128, 3],
    [64, 128, 10],
    [1, 10_368, 128],
    [3, 10_368, 128],
    [64, 10_368, 128],
    [128, 10_368, 128],
  ];
  it('runs the subgroup GEMM where the device has one subgroup size of 4 lanes or more', () => {
    const sg = gpu().info.subgroups;
    expect(gpu().kernelPath).toBe(sg && sg.min === sg.max && sg.min >= 4 ? 'subgroups' : 'portable');
  });
  for (const [N, K, M] of cases) {
    it(`x=[${N},${K}] w=[${K},${M}]: GPU forward and backward match the CPU reference on every GEMM path`, async () => {
      // The portable path runs everywhere, the subgroup path where the device allows it.
      for (const path of new Set(['portable', gpu().kernelPath] as const)) await compareWithCpu(N, K, M, path);
    });
  }

  it('refuses operands whose shapes disagree', () => {
    const g = gpu();
    const x = g.upload(new Float32Array(6).fill(1), [2, 3]);
    const w = g.upload(new Float32Array(8).fill(1), [4, 2]);
    const b = g.upload(new Float32Array(2).fill(1), [2]);
    expect(() => gpuOps.denseForward(g, x, w, b)).toThrow(/N×K = \[2, 3\], K×M = \[4, 2\]/);
    expect(() => ref.denseBackwardWeights(randomTensor([2, 3], random), randomTensor([3, 2], random))).toThrow(/do not agree/);
  });

  it('CPU backward matches finite differences', () => {
    for (const [N, K, M] of [[1, 1, 1], [3, 5, 4], [2, 7, 3]]) {
      const x = randomTensor([N, K], random);
      const w = randomTensor([K, M], random);
      const b = randomTensor([M], random);
      const r = randomTensor([N, M], random);
      const loss = () => projection(ref.denseForward(x, w, b).data, r.data);
      const dx = ref.denseBackwardInput(r, w);
      const { dw, db } = ref.denseBackwardWeights(x, r);
      for (const [what, param, analytic] of [['dx', x, dx], ['dw', w, dw], ['db', b, db]] as [string, CpuTensor, CpuTensor][]) {
        const numeric = numericGradient(loss, param.data, param.data.keys());
        expect(relativeError([...numeric.values()], analytic.data), `${what} x=[${N},${K}] w=[${K},${M}]`).toBeLessThan(FINITE_DIFFERENCES);
      }
    }
  });
});
