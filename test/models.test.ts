import { describe, expect, it } from 'vitest';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { initialModel, tunedModel } from '../src/nn/models.ts';
import { dense } from '../src/nn/spec.ts';
import { Sequential } from '../src/nn/sequential.ts';

describe("the paper's networks", () => {
  for (const [name, spec] of [['initial', initialModel], ['tuned', tunedModel]] as const) {
    it(`${name}: 1,420,738 parameters, Keras layer names and output shapes`, () => {
      const model = Sequential.build(spec(), cpuBackend, 1);
      expect(model.paramCount()).toBe(1_420_738);
      expect(model.layers.filter((l) => l.params.length > 0).map((l) => l.name)).toEqual(['conv2d_1', 'conv2d_2', 'conv2d_3', 'dense_1', 'dense_2']);
      expect(model.outputShape(64)).toEqual([64, 2]);
      const summary = model.summary();
      expect(summary).toContain('Total params: 1,420,738');
      expect(summary).toContain('(None, 9, 9, 128)');
      expect(summary).toContain('(None, 10368)');
    });
  }

  it('multi-class heads change only the last layer', () => {
    expect(Sequential.build(initialModel(10), cpuBackend, 1).paramCount()).toBe(1_420_738 - 258 + 129 * 10);
    expect(Sequential.build(tunedModel(3), cpuBackend, 1).classes).toBe(3);
  });

  it('Glorot-uniform kernels stay within their limit and are seeded; biases start at zero', async () => {
    const a = await Sequential.build(initialModel(), cpuBackend, 7).getWeights();
    const b = await Sequential.build(initialModel(), cpuBackend, 7).getWeights();
    const c = await Sequential.build(initialModel(), cpuBackend, 8).getWeights();
    const bytes = (w: typeof a) => Buffer.concat(w.flatMap((l) => l.weights.map((x) => Buffer.from(x.values.buffer))));
    expect(bytes(a).equals(bytes(b))).toBe(true);
    expect(bytes(a).equals(bytes(c))).toBe(false);
    const limit = Math.sqrt(6 / (9 * 3 + 9 * 32));
    const k = a[0].weights[0].values;
    const largest = k.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(largest).toBeLessThanOrEqual(limit);
    expect(largest).toBeGreaterThan(0.9 * limit);
    expect(a.every((l) => l.weights[1].values.every((v) => v === 0))).toBe(true);
  });

  it('a softmax before the last layer is a hidden activation, so the model has no output head', () => {
    expect(() => Sequential.build({ inputShape: [4, 4, 1], layers: [{ type: 'flatten' }, dense(2, 'softmax'), { type: 'flatten' }] }, cpuBackend, 1)).toThrow(/must end with a softmax or sigmoid output/);
  });
});
