import { describe, expect, it } from 'vitest';
import * as gpuOps from '../src/kernels/batchnorm.ts';
import * as ref from '../src/kernels/batchnorm.ref.ts';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import { expectClose, relativeError } from './support/compare.ts';
import { useGpu } from './support/gpu.ts';
import { numericGradient, projection } from './support/gradcheck.ts';
import { randomTensor, rng, TEST_SEED } from './support/random.ts';
import { FINITE_DIFFERENCES, GPU_VS_CPU, OPTIMIZER } from './support/tolerances.ts';

const gpu = useGpu();
const random = rng(TEST_SEED);
/** Keras's default. */
const EPSILON = 1e-3;

/** Random per-channel gamma and beta, gamma away from 0 so that dx is not small by chance. */
function affine(channels: number): { gamma: CpuTensor; beta: CpuTensor } {
  const gamma = randomTensor([channels], random);
  gamma.data.set(gamma.data.map((v) => v + Math.sign(v)));
  return { gamma, beta: randomTensor([channels], random) };
}

describe('batch normalisation', () => {
  // N×C (after a dense layer) and images with C = 1, 3, 5, 16: channels whose
  // vec4s recur every 1, 3, 4, 5 or 32 vec4s (the kernels' slots), or 257,
  // more slots than a workgroup's 256; tails of 0 to 3 values past the last
  // whole vec4; and a batch-64 activation over 7 chunks, the last partial.
  const shapes: number[][] = [
    [2, 1],
    [5, 3],
    [64, 128],
    [33, 257],
    [2, 3, 3, 1],
    [3, 4, 5, 3],
    [2, 5, 5, 5],
    [2, 6, 6, 16],
    [64, 29, 29, 16],
  ];
  for (const shape of shapes) {
    it(`x=[${shape}]: GPU statistics, forward, backward and moving averages match the CPU reference`, async () => {
      const g = gpu();
      const C = shape[shape.length - 1];
      const x = randomTensor(shape, random);
      const dy = randomTensor(shape, random);
      const { gamma, beta } = affine(C);
      const [xg, dyg, gammag, betag] = [x, dy, gamma, beta].map((t) => g.upload(t.data, t.shape));

      const stats = gpuOps.batchNormStatistics(g, xg);
      const want = ref.batchNormStatistics(x);
      expect([stats.mean.shape, stats.variance.shape]).toEqual([[C], [C]]);
      expectClose(await g.read(stats.mean), want.mean.data, GPU_VS_CPU, 'mean');
      expectClose(await g.read(stats.variance), want.variance.data, GPU_VS_CPU, 'variance');

      // Both sides from the same statistics, so that each op is measured alone.
      const y = gpuOps.batchNormForward(g, xg, stats.mean, stats.variance, gammag, betag, EPSILON);
      expectClose(await g.read(y), ref.batchNormForward(x, want.mean, want.variance, gamma, beta, EPSILON).data, GPU_VS_CPU, 'y');
      const got = gpuOps.batchNormBackward(g, xg, dyg, stats.mean, stats.variance, gammag, EPSILON);
      const grads = ref.batchNormBackward(x, dy, want.mean, want.variance, gamma, EPSILON);
      expectClose(await g.read(got.dx), grads.dx.data, GPU_VS_CPU, 'dx');
      expectClose(await g.read(got.dgamma), grads.dgamma.data, GPU_VS_CPU, 'dgamma');
      expectClose(await g.read(got.dbeta), grads.dbeta.data, GPU_VS_CPU, 'dbeta');

      const moving = randomTensor([C], random);
      const movingg = g.upload(moving.data, [C]);
      ref.movingAverageUpdate(moving, want.variance, 0.99, 1.5);
      gpuOps.movingAverageUpdate(g, movingg, stats.variance, 0.99, 1.5);
      expectClose(await g.read(movingg), moving.data, GPU_VS_CPU, 'moving');
    });
  }

  it('keeps the variance of values with a large common offset (no E[x²] − E[x]² cancellation)', async () => {
    const g = gpu();
    const x = randomTensor([16, 8, 8, 5], random);
    // float32-exact values, so that both sides see the same numbers.
    x.data.set(x.data.map((v) => Math.fround(1000 + v)));
    const { mean, variance } = gpuOps.batchNormStatistics(g, g.upload(x.data, x.shape));
    const want = ref.batchNormStatistics(x);
    expectClose(await g.read(mean), want.mean.data, GPU_VS_CPU, 'mean');
    expectClose(await g.read(variance), want.variance.data, GPU_VS_CPU, 'variance');
  });

  it('repeats the statistics and the parameter gradients bit for bit', async () => {
    const g = gpu();
    const shape = [64, 29, 29, 16];
    const [xg, dyg] = [randomTensor(shape, random), randomTensor(shape, random)].map((t) => g.upload(t.data, t.shape));
    const run = async () => {
      const { mean, variance } = gpuOps.batchNormStatistics(g, xg);
      const { dgamma, dbeta } = gpuOps.batchNormBackward(g, xg, dyg, mean, variance, g.upload(new Float32Array(16).fill(1), [16]), EPSILON);
      return Promise.all([mean, variance, dgamma, dbeta].map(async (t) => [...(await g.read(t))]));
    };
    expect(await run()).toEqual(await run());
  });

  it('normalises with fixed (moving) statistics as at inference', async () => {
    const g = gpu();
    for (const shape of [[5, 3], [2, 7, 7, 4], [3, 5, 5, 5]]) {
      const C = shape[shape.length - 1];
      const x = randomTensor(shape, random, 3);
      const mean = randomTensor([C], random);
      const variance = randomTensor([C], random);
      variance.data.set(variance.data.map(Math.abs));
      const { gamma, beta } = affine(C);
      const want = ref.batchNormForward(x, mean, variance, gamma, beta, EPSILON);
      // The formula itself at one value per channel.
      for (let c = 0; c < C; c++) {
        expect(want.data[c]).toBeCloseTo((gamma.data[c] * (x.data[c] - mean.data[c])) / Math.sqrt(variance.data[c] + EPSILON) + beta.data[c], 12);
      }
      const [xg, mg, vg, gg, bg] = [x, mean, variance, gamma, beta].map((t) => g.upload(t.data, t.shape));
      expectClose(await g.read(gpuOps.batchNormForward(g, xg, mg, vg, gg, bg, EPSILON)), want.data, GPU_VS_CPU, `y x=[${shape}]`);
    }
  });

  it("updates moving averages in place by Keras's formula", async () => {
    const g = gpu();
    const [momentum, scale] = [0.99, 64 / 63];
    const start = [0.5, -1.25, 2, 0];
    const values = [
      [0.25, 3, -1, 1e-3],
      [1.5, -0.5, 0.75, 2],
    ];
    let expected = start;
    for (const v of values) expected = expected.map((m, i) => momentum * m + (1 - momentum) * scale * v[i]);
    const cpu = CpuTensor.from(start, [4]);
    const gpuMoving = g.upload(start, [4]);
    for (const v of values) {
      ref.movingAverageUpdate(cpu, CpuTensor.from(v, [4]), momentum, scale);
      gpuOps.movingAverageUpdate(g, gpuMoving, g.upload(v, [4]), momentum, scale);
    }
    const got = await g.read(gpuMoving);
    for (let i = 0; i < 4; i++) {
      expect(Math.abs(cpu.data[i] - expected[i]), `CPU ${i}`).toBeLessThan(1e-12);
      expect(Math.abs(got[i] - expected[i]), `GPU ${i}`).toBeLessThan(OPTIMIZER);
    }
  });

  it('CPU backward matches finite differences through the batch statistics', () => {
    for (const shape of [[4, 3], [2, 3, 3, 2], [3, 2, 2, 5]]) {
      const C = shape[shape.length - 1];
      const x = randomTensor(shape, random);
      const { gamma, beta } = affine(C);
      const r = randomTensor(shape, random);
      // The statistics are recomputed from the perturbed x.
      const loss = () => {
        const { mean, variance } = ref.batchNormStatistics(x);
        return projection(ref.batchNormForward(x, mean, variance, gamma, beta, EPSILON).data, r.data);
      };
      const { mean, variance } = ref.batchNormStatistics(x);
      const analytic = ref.batchNormBackward(x, r, mean, variance, gamma, EPSILON);
      for (const [what, param, grad] of [['dx', x, analytic.dx], ['dgamma', gamma, analytic.dgamma], ['dbeta', beta, analytic.dbeta]] as const) {
        const numeric = numericGradient(loss, param.data, param.data.keys());
        expect(relativeError([...numeric.values()], grad.data), `${what} x=[${shape}]`).toBeLessThan(FINITE_DIFFERENCES);
      }
    }
  });

  it('refuses operands whose shapes disagree', () => {
    const g = gpu();
    const x = randomTensor([2, 3, 3, 4], random);
    const [c4, c3] = [randomTensor([4], random), randomTensor([3], random)];
    const xg = g.upload(x.data, x.shape);
    const [c4g, c3g] = [c4, c3].map((t) => g.upload(t.data, t.shape));
    expect(() => gpuOps.batchNormForward(g, xg, c4g, c4g, c3g, c4g, EPSILON)).toThrow(/batchNormForward: gamma \[3\] must be \[4\]/);
    expect(() => ref.batchNormForward(x, c4, c3, c4, c4, EPSILON)).toThrow(/batchNormForward: variance \[3\] must be \[4\]/);
    expect(() => gpuOps.batchNormStatistics(g, g.upload(new Float32Array(12), [2, 3, 2]))).toThrow(/x \[2, 3, 2\] must be N×C or N×H×W×C/);
    const dy = randomTensor([2, 3, 4, 3], random);
    expect(() => ref.batchNormBackward(x, dy, c4, c4, c4, EPSILON)).toThrow(/x \[2, 3, 3, 4\] and dy \[2, 3, 4, 3\] must have one shape/);
    expect(() => gpuOps.batchNormBackward(g, xg, g.upload(dy.data, dy.shape), c4g, c4g, c4g, EPSILON)).toThrow(/must have one shape/);
    expect(() => gpuOps.movingAverageUpdate(g, c4g, c3g, 0.99, 1)).toThrow(/movingAverageUpdate: moving \[4\] and value \[3\]/);
  });
});
