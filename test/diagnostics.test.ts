// Per-epoch diagnostics on a tiny network: the dead-ReLU share is 1 when the
// biases push every unit below 0 and 0 when they push every unit above it;
// no gradient reaches below dead units; the update ratio is 0 before any
// update and small after some; and computing them changes nothing in the model.
import { describe, expect, it } from 'vitest';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import type { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import { makeOptimizer } from '../src/nn/optimizers.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { conv2d, dense, type ModelSpec } from '../src/nn/spec.ts';
import { deadShare, diagnose, snapshotParameters } from '../src/train/diagnostics.ts';
import { trainEpoch } from '../src/train/fit.ts';
import { rng, TEST_SEED } from './support/random.ts';
import { randomSource } from './support/random-source.ts';

const SPEC: ModelSpec = {
  inputShape: [6, 6, 2],
  layers: [conv2d(4, 3, { activation: 'relu' }), { type: 'flatten' }, dense(5, 'relu'), dense(2, 'softmax')],
};

/** The values of `layer`'s parameter `name`. */
const valuesOf = (model: Sequential<CpuTensor>, layer: string, name: string) => model.layers.find((l) => l.name === layer)!.params.find((p) => p.name === name)!.value.data;

/** Sets every bias of the hidden layers to `value`. */
function setBiases(model: Sequential<CpuTensor>, value: number): void {
  for (const l of model.layers.slice(0, -2)) for (const p of l.params) if (p.name === 'bias') p.value.data.fill(value);
}

describe('training diagnostics', () => {
  it('dead-ReLU share: 1 with very negative biases, 0 with very positive ones; a unit is a channel (the last axis)', async () => {
    const source = randomSource(20, SPEC.inputShape, rng(TEST_SEED));
    const model = Sequential.build(SPEC, cpuBackend, TEST_SEED);
    setBiases(model, -100);
    valuesOf(model, 'dense_2', 'bias').set([1, -1]);
    const before = await snapshotParameters(model);
    const dead = await diagnose(model, source, before);
    expect(dead.filter((d) => d.deadReluShare !== undefined).map((d) => [d.layer, d.deadReluShare])).toEqual([
      ['conv2d_1/relu', 1],
      ['dense_1/relu', 1],
    ]);
    // Nothing flows back through dead units: the layers below them get no gradient.
    expect(dead.find((d) => d.layer === 'conv2d_1')!.gradNorm).toBe(0);
    // dense_2 then sees only zeros, so its gradient is its bias's, mean(p − y): 0 when p = ½ meets
    // balanced labels. An uneven bias keeps p far from any share of 20 labels.
    expect(dead.find((d) => d.layer === 'dense_2')!.gradNorm).toBeGreaterThan(0);
    setBiases(model, 100);
    // dense_1's input is then large and of either sign: with its kernel at 0 its output is its bias.
    valuesOf(model, 'dense_1', 'kernel').fill(0);
    const alive = await diagnose(model, source, before);
    expect(alive.filter((d) => d.deadReluShare !== undefined).map((d) => d.deadReluShare)).toEqual([0, 0]);
    expect(deadShare([0, 1, -1, 2, 0, 0], 3)).toBeCloseTo(1 / 3, 12);
  });

  it('gradient norms and update ratios are plausible after an epoch, and diagnosing leaves the weights as they were', async () => {
    const source = randomSource(20, SPEC.inputShape, rng(TEST_SEED));
    const model = Sequential.build(SPEC, cpuBackend, TEST_SEED);
    const optimizer = makeOptimizer('adam', cpuBackend, model.parameters(), 0.01);
    const before = await snapshotParameters(model);
    const unmoved = await diagnose(model, source, before);
    expect(unmoved.filter((d) => d.updateRatio !== undefined).map((d) => d.updateRatio)).toEqual([0, 0, 0]);
    await trainEpoch(model, optimizer, source, Uint32Array.from({ length: 20 }, (_, i) => i), 5);
    const after = await snapshotParameters(model);
    const d = await diagnose(model, source, before);
    expect(await snapshotParameters(model)).toEqual(after);
    const layers = d.filter((l) => l.updateRatio !== undefined);
    expect(layers.map((l) => l.layer)).toEqual(['conv2d_1', 'dense_1', 'dense_2']);
    for (const l of layers) {
      // Four Adam steps at 0.01 move each weight by at most 0.04: a small, non-zero share of Glorot-sized weights.
      expect(l.updateRatio!, l.layer).toBeGreaterThan(1e-4);
      expect(l.updateRatio!, l.layer).toBeLessThan(1);
      expect(l.gradNorm!, l.layer).toBeGreaterThan(0);
      expect(Number.isFinite(l.gradNorm!)).toBe(true);
    }
  });
});
