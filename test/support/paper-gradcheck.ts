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
import { LeakyReLU, MaxPool2D, type Context } from '../../src/nn/layers.ts';
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

export function paperGradientCheck(name: ModelName, samplesPerLayer = 200): void {
  const gpu = useGpu();
  const ctx = { training: true, step: 3 };

  it(`${name} network, 69×69×3: CPU gradients of ${samplesPerLayer} parameters per layer match finite differences`, () => {
    const random = rng(TEST_SEED);
    const model = Sequential.build(modelSpec(name), cpuBackend, TEST_SEED);
    expect(model.paramCount()).toBe(1_420_738);
    const x = cpuBackend.fromArray(images(1, random), [1, 69, 69, 3]);
    const onehot = randomOneHot(1, 2, random);
    const analytic = analyticGradients(model, x, onehot, ctx);
    const inputs = layerInputs(model, x, ctx);
    const params = model.parameters();
    for (const [li, layer] of model.layers.entries()) {
      if (layer.params.length === 0) continue;
      // One layer's kernel and bias, sampled together.
      const owned = layer.params.map((p) => ({ p, g: analytic[params.indexOf(p)] }));
      const total = owned.reduce((n, o) => n + o.p.value.size, 0);
      const numeric: number[] = [];
      const exact: number[] = [];
      let crossed = 0;
      for (const flat of sampleIndices(total, samplesPerLayer * 3, random)) {
        if (numeric.length === samplesPerLayer) break;
        let i = flat;
        let k = 0;
        while (i >= owned[k].p.value.size) i -= owned[k++].p.value.size;
        const o = owned[k];
        const values = (o.p.value as CpuTensor).data;
        const v = values[i];
        values[i] = v + FD_STEP;
        const plus = lossFrom(model, li, inputs[li], onehot, ctx);
        values[i] = v - FD_STEP;
        const minus = lossFrom(model, li, inputs[li], onehot, ctx);
        values[i] = v;
        // A kink or tie crossed between the two points makes the difference meaningless.
        if (plus.signature !== minus.signature) {
          crossed++;
          continue;
        }
        numeric.push((plus.loss - minus.loss) / (2 * FD_STEP));
        exact.push(o.g[i]);
      }
      expect(numeric.length, `${layer.name}: samples clear of kinks (${crossed} crossed one)`).toBe(Math.min(samplesPerLayer, total));
      const err = relativeError(numeric, exact);
      expect(err, `${layer.name}: ‖fd − analytic‖/‖analytic‖ (seed ${TEST_SEED})`).toBeLessThan(FINITE_DIFFERENCES);
    }
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
    if (layer instanceof MaxPool2D) {
      const { y, argmax } = B.maxPool2dForward(h.value);
      out.push(...(await B.toArray(argmax)));
      B.dispose(y);
      B.dispose(argmax);
    }
    h = layer.forward(tape, h, ctx);
  }
  tape.reset();
  return out;
}
