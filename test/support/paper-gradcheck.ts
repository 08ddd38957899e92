// The paper's full networks (69×69×3 input) under a gradient check: analytic
// CPU gradients against float64 finite differences for a random sample of
// parameters in every layer, and GPU gradients against the CPU path.
import { expect, it } from 'vitest';
import { cpuBackend } from '../../src/kernels/cpu-backend.ts';
import type { CpuTensor } from '../../src/kernels/cpu-tensor.ts';
import type { GpuTensor } from '../../src/kernels/engine.ts';
import { modelSpec, type ModelName } from '../../src/nn/models.ts';
import { Sequential } from '../../src/nn/sequential.ts';
import { Tape, Variable } from '../../src/nn/tape.ts';
import { LeakyReLU, Pool2D, type Context } from '../../src/nn/layers.ts';
import type { Tensor } from '../../src/kernels/backend.ts';
import { expectClose, relativeError } from './compare.ts';
import { backendOf, useGpu } from './gpu.ts';
import { sampleIndices } from './gradcheck.ts';
import { analyticGradients, layerInputs, lossFrom } from './network.ts';
import { randomOneHot, rng, TEST_SEED } from './random.ts';
import { FD_STEP_FULL_NETWORK as FD_STEP, FINITE_DIFFERENCES, GPU_VS_CPU } from './tolerances.ts';

/** Pixel-like inputs in (0, 1], never zero. */
function images(n: number, random: () => number): number[] {
  return Array.from({ length: n * 69 * 69 * 3 }, () => 0.01 + 0.99 * random());
}

/** Samples drawn per kernel tensor; every bias tensor is sampled whole up to this many. */
const KERNEL_SAMPLES = 64;
const BIAS_SAMPLES = 32;
/** The largest share of draws that may be skipped for straddling a kink before the check itself is suspect. */
const MAX_CROSSED_SHARE = 0.1;

/**
 * d loss / d values[i] by a central difference. A kink or tie between the two
 * points makes the difference meaningless; one at distance d is crossed only
 * while the step exceeds d, so the step shrinks tenfold (to 1e-8, where
 * float64 rounding still costs under 1e-8 relative) before the sample is
 * given up as straddling one: null.
 */
function centralDifference(values: Float64Array, i: number, loss: () => { loss: number; signature: string }): number | null {
  const v = values[i];
  try {
    for (let h = FD_STEP; h >= 1e-8; h /= 10) {
      values[i] = v + h;
      const plus = loss();
      values[i] = v - h;
      const minus = loss();
      if (plus.signature === minus.signature) return (plus.loss - minus.loss) / (2 * h);
    }
    return null;
  } finally {
    values[i] = v;
  }
}

export function paperGradientCheck(name: ModelName): void {
  const gpu = useGpu();
  const ctx = { training: true, step: 3 };

  it(`${name} network, 69×69×3: CPU gradients match finite differences in every parameter tensor, every bias among them`, () => {
    const random = rng(TEST_SEED);
    const model = Sequential.build(modelSpec(name), cpuBackend, TEST_SEED);
    expect(model.paramCount()).toBe(1_420_738);
    const x = cpuBackend.fromArray(images(1, random), [1, 69, 69, 3]);
    const onehot = randomOneHot(1, 2, random);
    const analytic = analyticGradients(model, x, onehot, ctx);
    const inputs = layerInputs(model, x, ctx);
    const params = model.parameters();
    const report: string[] = [];
    const failures: string[] = [];
    for (const [li, layer] of model.layers.entries()) {
      for (const p of layer.params) {
        const values = (p.value as CpuTensor).data;
        const gradient = analytic[params.indexOf(p)];
        const wanted = Math.min(p.name === 'bias' ? BIAS_SAMPLES : KERNEL_SAMPLES, values.length);
        const numeric: number[] = [];
        const exact: number[] = [];
        let crossed = 0;
        for (const i of sampleIndices(values.length, wanted * 2, random)) {
          if (numeric.length === wanted) break;
          const difference = centralDifference(values, i, () => lossFrom(model, li, inputs[li], onehot, ctx));
          if (difference === null) {
            crossed++;
            continue;
          }
          numeric.push(difference);
          exact.push(gradient[i]);
        }
        const err = relativeError(numeric, exact);
        const share = crossed / (crossed + numeric.length);
        const line = `${layer.name}/${p.name} [${p.value.shape}]: ${numeric.length} samples, error ${err.toExponential(2)}, ${crossed} skipped at kinks (${(100 * share).toFixed(1)}%)`;
        report.push(line);
        if (numeric.length < wanted * (1 - MAX_CROSSED_SHARE) || !(err < FINITE_DIFFERENCES) || share > MAX_CROSSED_SHARE) failures.push(line);
      }
    }
    console.log(`${name} network, finite differences per parameter tensor (seed ${TEST_SEED}):\n  ${report.join('\n  ')}`);
    expect(failures, `tensors over ${FINITE_DIFFERENCES} relative error, short of samples, or over ${100 * MAX_CROSSED_SHARE}% skipped (seed ${TEST_SEED})`).toEqual([]);
    expect(report).toHaveLength(params.length);
  });

  it(`${name} network, 69×69×3: GPU gradients of every parameter match the CPU path`, async () => {
    gpu();
    const random = rng(TEST_SEED + 1);
    const batch = 2;
    const cpu = Sequential.build(modelSpec(name), cpuBackend, TEST_SEED);
    const dev = Sequential.build(modelSpec(name), backendOf(gpu()), TEST_SEED);
    // float32 and float64 may fall on two sides of a ReLU kink or a max-pool
    // tie; then the two paths route gradients differently and both are right.
    // Draw inputs until every such choice agrees (rarely more than once).
    let pixels: number[] = [];
    let disagreements = -1;
    for (let draw = 0; draw < 5 && disagreements !== 0; draw++) {
      pixels = images(batch, random);
      const a = await decisions(cpu, pixels, batch, ctx);
      const b = await decisions(dev, pixels, batch, ctx);
      disagreements = a.reduce((n, v, i) => n + Number(v !== b[i]), 0);
    }
    expect(disagreements, 'inputs whose float32 and float64 forward passes make the same ReLU and max-pool choices').toBe(0);
    const labels = randomOneHot(batch, 2, random);
    const expected = analyticGradients(cpu, cpuBackend.fromArray(pixels, [batch, 69, 69, 3]), labels, ctx);
    const tape = new Tape(backendOf(gpu()));
    const x = backendOf(gpu()).fromArray(pixels, [batch, 69, 69, 3]);
    const onehot = backendOf(gpu()).fromArray(labels.data, labels.shape);
    const logits = dev.forward(tape, new Variable<GpuTensor>(x, false), ctx);
    dev.loss(tape, logits, onehot);
    tape.backward();
    for (const [i, p] of dev.parameters().entries()) {
      const layer = dev.layers.find((l) => l.params.includes(p))!;
      expectClose(await backendOf(gpu()).toArray(p.grad!), expected[i], GPU_VS_CPU, `${layer.name}/${p.name} gradient`);
    }
    tape.reset(dev.parameters());
  });
}

/** Every ReLU sign and max-pool winner of a forward pass, in order, on either backend. */
async function decisions<T extends Tensor>(model: Sequential<T>, pixels: number[], batch: number, ctx: Context): Promise<number[]> {
  const B = model.backend;
  const tape = new Tape(B);
  const out: number[] = [];
  let h = new Variable(B.fromArray(pixels, [batch, 69, 69, 3]), false);
  for (const layer of model.layers) {
    if (layer instanceof LeakyReLU) for (const v of await B.toArray(h.value)) out.push(Number(v > 0));
    if (layer instanceof Pool2D && layer.kind === 'max') {
      const { y, argmax } = B.maxPool2dForward(h.value, layer.pool);
      out.push(...(await B.toArray(argmax)));
      B.dispose(y);
      B.dispose(argmax);
    }
    h = layer.forward(tape, h, ctx);
  }
  tape.reset();
  return out;
}
