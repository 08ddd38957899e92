import { describe, expect, it } from 'vitest';
import type { LossName } from '../src/kernels/backend.ts';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import * as gpuOps from '../src/kernels/cross-entropy.ts';
import * as ref from '../src/kernels/cross-entropy.ref.ts';
import { expectClose, relativeError } from './support/compare.ts';
import { useGpu } from './support/gpu.ts';
import { numericGradient } from './support/gradcheck.ts';
import { randomOneHot, randomTensor, rng, TEST_SEED } from './support/random.ts';
import { FINITE_DIFFERENCES, GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();
const random = rng(TEST_SEED);
const LOSSES: LossName[] = ['logits', 'keras2-clipped'];

/** Random 0/1 targets, N×1. */
function randomBinary(n: number): CpuTensor {
  return CpuTensor.from(Array.from({ length: n }, () => (random() < 0.5 ? 0 : 1)), [n, 1]);
}

/** Random soft targets (each row positive, summing to 1), N×C. */
function randomSoftTargets(n: number, c: number): CpuTensor {
  const t = new CpuTensor([n, c]);
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: c }, () => 0.05 + random());
    const sum = row.reduce((a, b) => a + b, 0);
    row.forEach((v, j) => (t.data[i * c + j] = v / sum));
  }
  return t;
}

type Fused = typeof ref.softmaxCrossEntropy;
type FusedGpu = typeof gpuOps.softmaxCrossEntropy;
interface Family {
  gpuOp: FusedGpu;
  gpuInference: typeof gpuOps.softmax;
  cpuOp: Fused;
}
const SOFTMAX: Family = { gpuOp: gpuOps.softmaxCrossEntropy, gpuInference: gpuOps.softmax, cpuOp: ref.softmaxCrossEntropy };
const SIGMOID: Family = { gpuOp: gpuOps.sigmoidBinaryCrossEntropy, gpuInference: gpuOps.sigmoid, cpuOp: ref.sigmoidBinaryCrossEntropy };

/** The fused op and the inference-only one (same probabilities) against the CPU. */
async function expectGpuMatchesCpu(f: Family, loss: LossName, logits: CpuTensor, targets: CpuTensor): Promise<void> {
  const g = gpu();
  const cpu = f.cpuOp(logits, targets, loss);
  const logitsGpu = g.upload(logits.data, logits.shape);
  const out = f.gpuOp(g, logitsGpu, g.upload(targets.data, targets.shape), loss);
  expectClose(await g.read(out.probs), cpu.probs.data, GPU_VS_CPU, `${loss}: probs`);
  expectClose(await g.read(out.dlogits), cpu.dlogits.data, GPU_VS_CPU, `${loss}: dlogits`);
  expectClose(await g.read(f.gpuInference(g, logitsGpu)), cpu.probs.data, GPU_VS_CPU, 'inference probs');
}

/** dlogits, GPU and CPU, for checks of individual rows. */
async function bothGradients(f: Family, loss: LossName, logits: CpuTensor, targets: CpuTensor): Promise<Float64Array[]> {
  const g = gpu();
  const out = f.gpuOp(g, g.upload(logits.data, logits.shape), g.upload(targets.data, targets.shape), loss);
  return [Float64Array.from(await g.read(out.dlogits)), f.cpuOp(logits, targets, loss).dlogits.data];
}

/** The probabilities the GPU's fused op gives, as a CpuTensor for the host loss. */
async function gpuProbs(f: Family, logits: CpuTensor, targets: CpuTensor): Promise<CpuTensor> {
  const g = gpu();
  const out = f.gpuOp(g, g.upload(logits.data, logits.shape), g.upload(targets.data, targets.shape), 'logits');
  return new CpuTensor(logits.shape, Float64Array.from(await g.read(out.probs)));
}

/** CPU dlogits against finite differences of the host's mean loss, for each case. */
function expectFiniteDifferences(f: Family, loss: LossName, cases: [CpuTensor, CpuTensor][]): void {
  for (const [logits, targets] of cases) {
    const mean = () => ref.crossEntropyLoss(f.cpuOp(logits, targets, loss).probs, targets, loss);
    const analytic = f.cpuOp(logits, targets, loss).dlogits.data;
    const numeric = numericGradient(mean, logits.data, logits.data.keys());
    expect(relativeError([...numeric.values()], analytic), `${loss}, logits=[${logits.shape}] (seed ${TEST_SEED})`).toBeLessThan(FINITE_DIFFERENCES);
  }
}

describe('softmax cross-entropy', () => {
  for (const loss of LOSSES) {
    // Logits in ±4 keep every probability well inside the clip range.
    for (const [n, c] of [[1, 2], [3, 10], [64, 2], [128, 3], [128, 10]]) {
      it(`${loss}, logits=[${n},${c}]: GPU probs and dlogits, fused and alone, match the CPU reference`, async () => {
        await expectGpuMatchesCpu(SOFTMAX, loss, randomTensor([n, c], random, 4), randomOneHot(n, c, random));
      });
    }

    it(`${loss}: CPU dlogits match finite differences of the mean loss (one-hot and soft targets)`, () => {
      expectFiniteDifferences(SOFTMAX, loss, [
        [randomTensor([3, 10], random, 2), randomOneHot(3, 10, random)],
        [randomTensor([4, 2], random, 2), randomOneHot(4, 2, random)],
        [randomTensor([3, 3], random, 2), randomSoftTargets(3, 3)],
      ]);
    });
  }

  it('logits, logits=[64,10] in ±40: saturated probabilities, GPU dlogits still match the CPU reference', async () => {
    await expectGpuMatchesCpu(SOFTMAX, 'logits', randomTensor([64, 10], random, 40), randomOneHot(64, 10, random));
  });

  it('logits: confidently wrong rows keep their full gradient p − onehot (CPU and GPU), and finite differences agree', async () => {
    // Row 0: p_true = e^-30 (confidently wrong); row 1 confidently right.
    const logits = CpuTensor.from([30, 0, 30, 0], [2, 2]);
    const onehot = CpuTensor.from([0, 1, 1, 0], [2, 2]);
    for (const dlogits of await bothGradients(SOFTMAX, 'logits', logits, onehot)) {
      expectClose(dlogits, [0.5, -0.5, 0, 0], 1e-6, 'dlogits');
    }
    expectFiniteDifferences(SOFTMAX, 'logits', [[logits, onehot]]);
  });

  it('keras2-clipped, logits=[3,2]: a clipped true-class probability gives its row zero gradient (CPU and GPU)', async () => {
    // Row 0: p_true = e^-30 < 1e-7 (confidently wrong); row 1: p_true > 1 − 1e-7
    // (confidently right); row 2 is inside the clip range.
    const logits = CpuTensor.from([30, 0, 30, 0, 0.5, -0.25], [3, 2]);
    const onehot = CpuTensor.from([0, 1, 1, 0, 1, 0], [3, 2]);
    for (const dlogits of await bothGradients(SOFTMAX, 'keras2-clipped', logits, onehot)) {
      expect([...dlogits.subarray(0, 4)].map(Math.abs)).toEqual([0, 0, 0, 0]); // ±0
      expect(dlogits[4]).toBeLessThan(0);
      expect(dlogits[5]).toBeGreaterThan(0);
    }
  });

  it('logits=[1,2]: the loss of a confident answer: the clip floor or −log(1e-7) clipped; from the logits, z_true − logsumexp, floored only at float32 underflow', async () => {
    const logits = CpuTensor.from([30, 0], [1, 2]);
    const right = CpuTensor.from([1, 0], [1, 2]);
    const wrong = CpuTensor.from([0, 1], [1, 2]);
    for (const probs of [ref.softmax(logits), await gpuProbs(SOFTMAX, logits, right)]) {
      expect(ref.crossEntropyLoss(probs, right, 'keras2-clipped')).toBe(-Math.log(1 - 1e-7)); // ≈ 1.00000005e-7
      expect(ref.crossEntropyLoss(probs, wrong, 'keras2-clipped')).toBe(-Math.log(1e-7)); // ≈ 16.118
      expect(ref.crossEntropyLoss(probs, right, 'logits')).toBeLessThan(1e-12);
      expect(ref.crossEntropyLoss(probs, wrong, 'logits')).toBeCloseTo(30, 5); // 30 + log(1 + e^-30)
    }
    // e^-200 underflows float32 to 0: the loss reads −log(2^-149), finite.
    const underflow = await gpuProbs(SOFTMAX, CpuTensor.from([200, 0], [1, 2]), wrong);
    expect(underflow.data[1]).toBe(0);
    expect(ref.crossEntropyLoss(underflow, wrong, 'logits')).toBe(149 * Math.LN2);
  });
});

describe('sigmoid binary cross-entropy', () => {
  for (const loss of LOSSES) {
    for (const n of [1, 3, 64, 128]) {
      it(`${loss}, logits=[${n},1]: GPU probs and dlogits, fused and alone, match the CPU reference`, async () => {
        await expectGpuMatchesCpu(SIGMOID, loss, randomTensor([n, 1], random, 4), randomBinary(n));
      });
    }

    it(`${loss}: CPU dlogits match finite differences of the mean loss (hard and soft targets)`, () => {
      const soft = CpuTensor.from(Array.from({ length: 5 }, () => 0.05 + 0.9 * random()), [5, 1]);
      expectFiniteDifferences(SIGMOID, loss, [randomBinary(5), soft].map((targets) => [randomTensor([5, 1], random, 3), targets]));
    });
  }

  it('logits, logits=[128,1] in ±40: saturated probabilities, GPU dlogits still match the CPU reference', async () => {
    await expectGpuMatchesCpu(SIGMOID, 'logits', randomTensor([128, 1], random, 40), randomBinary(128));
  });

  it('logits: confidently wrong elements keep their full gradient q − t (CPU and GPU), and finite differences agree', async () => {
    // σ(30) is 1 in float32; the finite differences use |z| = 8, where 1 − σ(z) keeps its digits in float64.
    const targets = CpuTensor.from([0, 1, 1], [3, 1]);
    for (const dlogits of await bothGradients(SIGMOID, 'logits', CpuTensor.from([30, -30, 30], [3, 1]), targets)) {
      expectClose(dlogits, [1 / 3, -1 / 3, 0], 1e-6, 'dlogits');
    }
    expectFiniteDifferences(SIGMOID, 'logits', [[CpuTensor.from([8, -8, 8], [3, 1]), targets]]);
  });

  it('keras2-clipped, logits=[4,1]: a clipped probability gives zero gradient (CPU and GPU)', async () => {
    // σ(±30) is clipped whatever the target; the last element is inside the range.
    const logits = CpuTensor.from([30, -30, 30, 0.5], [4, 1]);
    const targets = CpuTensor.from([1, 0, 0, 1], [4, 1]);
    for (const dlogits of await bothGradients(SIGMOID, 'keras2-clipped', logits, targets)) {
      expect([...dlogits.subarray(0, 3)].map(Math.abs)).toEqual([0, 0, 0]); // ±0
      expect(dlogits[3]).toBeLessThan(0);
    }
  });

  it('logits=[1,1]: the loss of a confident answer: the clip floor or −log(1e-7) clipped; from the logits, softplus, floored only at float32 underflow', async () => {
    const one = CpuTensor.from([1], [1, 1]);
    const zero = CpuTensor.from([0], [1, 1]);
    const clipped = CpuTensor.from([20], [1, 1]); // 1 − σ(20) ≈ 2e-9
    for (const probs of [ref.sigmoid(clipped), await gpuProbs(SIGMOID, clipped, one)]) {
      expect(ref.crossEntropyLoss(probs, one, 'keras2-clipped')).toBe(-Math.log(1 - 1e-7));
      expect(ref.crossEntropyLoss(probs, zero, 'keras2-clipped')).toBe(-Math.log(1e-7));
    }
    const confident = CpuTensor.from([12], [1, 1]);
    for (const probs of [ref.sigmoid(confident), await gpuProbs(SIGMOID, confident, one)]) {
      expect(ref.crossEntropyLoss(probs, one, 'logits')).toBeLessThan(1e-5); // log(1 + e^-12) ≈ 6.1e-6
      // 12 + log(1 + e^-12), through 1 − σ(12), which float32 keeps to about 1%.
      expect(ref.crossEntropyLoss(probs, zero, 'logits')).toBeCloseTo(12, 1);
    }
    // σ(30) is 1 in float32: 1 − p underflows and the loss reads −log(2^-149), finite.
    const saturated = await gpuProbs(SIGMOID, CpuTensor.from([30], [1, 1]), zero);
    expect(saturated.data[0]).toBe(1);
    expect(ref.crossEntropyLoss(saturated, zero, 'logits')).toBe(149 * Math.LN2);
  });
});
