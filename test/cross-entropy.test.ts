import { describe, expect, it } from 'vitest';
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

type Fused = (logits: CpuTensor, targets: CpuTensor) => { probs: CpuTensor; dlogits: CpuTensor };
type FusedGpu = typeof gpuOps.softmaxCrossEntropy;

/** The fused op and the inference-only one (same probabilities) against the CPU. */
async function expectGpuMatchesCpu(gpuOp: FusedGpu, gpuInference: typeof gpuOps.softmax, cpuOp: Fused, logits: CpuTensor, targets: CpuTensor): Promise<void> {
  const g = gpu();
  const cpu = cpuOp(logits, targets);
  const logitsGpu = g.upload(logits.data, logits.shape);
  const out = gpuOp(g, logitsGpu, g.upload(targets.data, targets.shape));
  expectClose(await g.read(out.probs), cpu.probs.data, GPU_VS_CPU, 'probs');
  expectClose(await g.read(out.dlogits), cpu.dlogits.data, GPU_VS_CPU, 'dlogits');
  expectClose(await g.read(gpuInference(g, logitsGpu)), cpu.probs.data, GPU_VS_CPU, 'inference probs');
}

/** Rows of dlogits, GPU and CPU, for checks of individual rows. */
async function bothGradients(gpuOp: FusedGpu, cpuOp: Fused, logits: CpuTensor, targets: CpuTensor): Promise<Float64Array[]> {
  const g = gpu();
  const out = gpuOp(g, g.upload(logits.data, logits.shape), g.upload(targets.data, targets.shape));
  return [Float64Array.from(await g.read(out.dlogits)), cpuOp(logits, targets).dlogits.data];
}

describe('softmax cross-entropy', () => {
  // Logits in ±4 keep every probability well inside the clip range.
  for (const [n, c] of [[1, 2], [3, 10], [64, 2], [128, 3], [128, 10]]) {
    it(`logits=[${n},${c}]: GPU probs and dlogits, fused and alone, match the CPU reference`, async () => {
      await expectGpuMatchesCpu(gpuOps.softmaxCrossEntropy, gpuOps.softmax, ref.softmaxCrossEntropy, randomTensor([n, c], random, 4), randomOneHot(n, c, random));
    });
  }

  it('CPU dlogits match finite differences of the mean loss (one-hot and soft targets)', () => {
    const cases: [CpuTensor, CpuTensor][] = [
      [randomTensor([3, 10], random, 2), randomOneHot(3, 10, random)],
      [randomTensor([4, 2], random, 2), randomOneHot(4, 2, random)],
      [randomTensor([3, 3], random, 2), randomSoftTargets(3, 3)],
    ];
    for (const [logits, onehot] of cases) {
      const loss = () => ref.softmaxCrossEntropyLoss(ref.softmaxCrossEntropy(logits, onehot).probs, onehot);
      const analytic = ref.softmaxCrossEntropy(logits, onehot).dlogits.data;
      const numeric = numericGradient(loss, logits.data, logits.data.keys());
      expect(relativeError([...numeric.values()], analytic), `logits=[${logits.shape}]`).toBeLessThan(FINITE_DIFFERENCES);
    }
  });

  it('logits=[3,2]: a clipped true-class probability gives its row zero gradient (CPU and GPU)', async () => {
    // Row 0: p_true = e^-30 < 1e-7 (confidently wrong); row 1: p_true > 1 − 1e-7
    // (confidently right); row 2 is inside the clip range.
    const logits = CpuTensor.from([30, 0, 30, 0, 0.5, -0.25], [3, 2]);
    const onehot = CpuTensor.from([0, 1, 1, 0, 1, 0], [3, 2]);
    for (const dlogits of await bothGradients(gpuOps.softmaxCrossEntropy, ref.softmaxCrossEntropy, logits, onehot)) {
      expect([...dlogits.subarray(0, 4)].map(Math.abs)).toEqual([0, 0, 0, 0]); // ±0
      expect(dlogits[4]).toBeLessThan(0);
      expect(dlogits[5]).toBeGreaterThan(0);
    }
  });

  it('logits=[1,2]: the loss of a confident answer is the clip floor when right, −log(1e-7) when wrong', async () => {
    const g = gpu();
    const logits = CpuTensor.from([30, 0], [1, 2]);
    const right = CpuTensor.from([1, 0], [1, 2]);
    const wrong = CpuTensor.from([0, 1], [1, 2]);
    const gpuProbs = new CpuTensor([1, 2], Float64Array.from(await g.read(gpuOps.softmaxCrossEntropy(g, g.upload(logits.data, [1, 2]), g.upload(right.data, [1, 2])).probs)));
    for (const probs of [ref.softmaxCrossEntropy(logits, right).probs, gpuProbs]) {
      expect(ref.softmaxCrossEntropyLoss(probs, right)).toBe(-Math.log(1 - 1e-7)); // ≈ 1.00000005e-7
      expect(ref.softmaxCrossEntropyLoss(probs, wrong)).toBe(-Math.log(1e-7)); // ≈ 16.118
    }
  });
});

describe('sigmoid binary cross-entropy', () => {
  for (const n of [1, 3, 64, 128]) {
    it(`logits=[${n},1]: GPU probs and dlogits, fused and alone, match the CPU reference`, async () => {
      await expectGpuMatchesCpu(gpuOps.sigmoidBinaryCrossEntropy, gpuOps.sigmoid, ref.sigmoidBinaryCrossEntropy, randomTensor([n, 1], random, 4), randomBinary(n));
    });
  }

  it('CPU dlogits match finite differences of the mean loss (hard and soft targets)', () => {
    const soft = CpuTensor.from(Array.from({ length: 5 }, () => 0.05 + 0.9 * random()), [5, 1]);
    for (const targets of [randomBinary(5), soft]) {
      const logits = randomTensor([5, 1], random, 3);
      const loss = () => ref.binaryCrossEntropyLoss(ref.sigmoidBinaryCrossEntropy(logits, targets).probs, targets);
      const analytic = ref.sigmoidBinaryCrossEntropy(logits, targets).dlogits.data;
      const numeric = numericGradient(loss, logits.data, logits.data.keys());
      expect(relativeError([...numeric.values()], analytic)).toBeLessThan(FINITE_DIFFERENCES);
    }
  });

  it('logits=[4,1]: a clipped probability gives zero gradient (CPU and GPU)', async () => {
    // σ(±30) is clipped whatever the target; the last element is inside the range.
    const logits = CpuTensor.from([30, -30, 30, 0.5], [4, 1]);
    const targets = CpuTensor.from([1, 0, 0, 1], [4, 1]);
    for (const dlogits of await bothGradients(gpuOps.sigmoidBinaryCrossEntropy, ref.sigmoidBinaryCrossEntropy, logits, targets)) {
      expect([...dlogits.subarray(0, 3)].map(Math.abs)).toEqual([0, 0, 0]); // ±0
      expect(dlogits[3]).toBeLessThan(0);
    }
  });

  it('logits=[1,1]: the loss of a confident answer is the clip floor when right, −log(1e-7) when wrong', async () => {
    const g = gpu();
    const logits = CpuTensor.from([30], [1, 1]);
    const one = CpuTensor.from([1], [1, 1]);
    const zero = CpuTensor.from([0], [1, 1]);
    const gpuProbs = new CpuTensor([1, 1], Float64Array.from(await g.read(gpuOps.sigmoidBinaryCrossEntropy(g, g.upload(logits.data, [1, 1]), g.upload(one.data, [1, 1])).probs)));
    for (const probs of [ref.sigmoidBinaryCrossEntropy(logits, one).probs, gpuProbs]) {
      expect(ref.binaryCrossEntropyLoss(probs, one)).toBe(-Math.log(1 - 1e-7));
      // 1 − clip(p) = 1 − (1 − 1e-7): −log(1e-7) up to the float64 rounding of 1 − 1e-7.
      expect(ref.binaryCrossEntropyLoss(probs, zero)).toBe(-Math.log(1 - (1 - 1e-7)));
    }
  });
});
