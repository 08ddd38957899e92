// --class-weight (Keras's class_weight): each training sample's loss term is
// weighted by its class's weight. The gradient matches finite differences of
// the weighted loss, weights of 1 change nothing, the GPU agrees with the CPU
// reference, and 'balanced' is scikit-learn's n / (classes · count).
import { describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../src/kernels/backend.ts';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import type { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import { crossEntropySum } from '../src/kernels/cross-entropy.ref.ts';
import { makeOptimizer, Optimizer } from '../src/nn/optimizers.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { conv2d, dense, type ModelSpec } from '../src/nn/spec.ts';
import { Tape } from '../src/nn/tape.ts';
import { trainStep } from '../src/nn/train-step.ts';
import { classWeights, parseClassWeight } from '../src/train/class-weight.ts';
import { trainEpoch, type BatchSource } from '../src/train/fit.ts';
import { expectClose } from './support/compare.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { numericGradient } from './support/gradcheck.ts';
import { rng, TEST_SEED } from './support/random.ts';
import { randomSource } from './support/random-source.ts';
import { FINITE_DIFFERENCES, GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu({ poisonOutputs: false });

const TINY: ModelSpec = {
  inputShape: [6, 6, 2],
  layers: [conv2d(3, 3, { activation: 'tanh' }), { type: 'flatten' }, dense(2, 'softmax')],
};
const SIGMOID: ModelSpec = { inputShape: [6, 6, 2], layers: [{ type: 'flatten' }, dense(4, 'tanh'), dense(1, 'sigmoid')] };

/** An optimizer that only keeps the gradients trainStep leaves on the parameters. */
class NoStep<T extends Tensor> extends Optimizer<T> {
  readonly name = 'rmsprop';
  protected readonly slotsPerParam = 0;
  lr = 0;
  protected update(): void {}
}

/** A sigmoid head's source: the same images with 0/1 targets. */
function sigmoidSource(s: BatchSource): BatchSource {
  return {
    ...s,
    classes: 1,
    fill(indices, x, targets) {
      const onehot = new Float32Array(indices.length * 2);
      s.fill(indices, x, onehot);
      for (let i = 0; i < indices.length; i++) targets[i] = onehot[i * 2 + 1];
    },
  };
}

describe('--class-weight: the weighted loss and its gradient', () => {
  for (const [head, spec] of [['softmax', TINY], ['sigmoid', SIGMOID]] as const) {
    it(`${head}: with weights [2, 1] the gradient is the finite difference of Σ wᵢ·lᵢ / N`, async () => {
      const base = randomSource(6, spec.inputShape, rng(TEST_SEED));
      const source = head === 'sigmoid' ? sigmoidSource(base) : base;
      const model = Sequential.build(spec, cpuBackend, TEST_SEED);
      const n = source.count;
      const x = new Float32Array(n * 72);
      const y = new Float32Array(n * source.classes);
      const indices = Uint32Array.from({ length: n }, (_, i) => i);
      source.fill(indices, x, y);
      const perClass = [2, 1];
      const w = Float32Array.from({ length: n * source.classes }, (_, i) => perClass[source.labels[Math.floor(i / source.classes)]]);
      const tape = new Tape(cpuBackend);
      const xs = cpuBackend.fromArray(x, [n, ...spec.inputShape]);
      trainStep(tape, model, new NoStep(cpuBackend, model.parameters()), xs, cpuBackend.fromArray(y, [n, source.classes]), 1, cpuBackend.fromArray(w, [n, source.classes]));
      const rowWeights = Array.from(source.labels, (c) => perClass[c]);
      const loss = () => crossEntropySum((model.predict(xs) as CpuTensor).data, y, source.classes, 'logits', rowWeights) / n;
      for (const p of model.parameters()) {
        const values = (p.value as CpuTensor).data;
        const numeric = numericGradient(loss, values, values.keys());
        expectClose((p.grad as CpuTensor).data, Float64Array.from(numeric.values()), FINITE_DIFFERENCES, `${head} ${p.name}`);
      }
      // The weights matter: the unweighted gradient differs.
      const plain = new Tape(cpuBackend);
      const kernel = model.parameters()[0];
      const weighted = Float64Array.from((kernel.grad as CpuTensor).data);
      tape.reset(model.parameters());
      trainStep(plain, model, new NoStep(cpuBackend, model.parameters()), xs, cpuBackend.fromArray(y, [n, source.classes]), 1);
      expect(Array.from((kernel.grad as CpuTensor).data)).not.toEqual(Array.from(weighted));
    });
  }

  /** Five steps of trainEpoch: the loss of each and the final weights. */
  async function train<T extends Tensor>(backend: Backend<T>, source: BatchSource, weights?: number[]) {
    const model = Sequential.build(TINY, backend, TEST_SEED);
    const optimizer = makeOptimizer('adam', backend, model.parameters(), 0.01);
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      const t = await trainEpoch(model, optimizer, source, Uint32Array.from({ length: 8 }, (_, i) => (step * 8 + i) % source.count), 8, { classWeights: weights });
      losses.push(t.loss / t.count);
    }
    return { losses, weights: (await model.getWeights()).flatMap((l) => l.weights.map((w) => Array.from(w.values))) };
  }

  it('weights [1, 1] train bit for bit as no weights, on the GPU and the CPU', async () => {
    const source = randomSource(24, TINY.inputShape, rng(TEST_SEED));
    for (const backend of [cpuBackend, backendOf(gpu())] as Backend<Tensor>[]) {
      expect(await train(backend, source, [1, 1]), backend.name).toEqual(await train(backend, source));
    }
  });

  it('weights [3, 0.5]: the GPU agrees with the CPU reference, and the run differs from an unweighted one', async () => {
    const source = randomSource(24, TINY.inputShape, rng(TEST_SEED));
    const cpu = await train(cpuBackend, source, [3, 0.5]);
    const dev = await train(backendOf(gpu()), source, [3, 0.5]);
    expectClose(dev.losses, cpu.losses, GPU_VS_CPU, 'weighted losses per step');
    dev.weights.forEach((w, i) => expectClose(w, cpu.weights[i], GPU_VS_CPU, `weight tensor ${i}`));
    expect(cpu.weights).not.toEqual((await train(cpuBackend, source)).weights);
  });
});

describe('--class-weight values', () => {
  it("balanced is n / (classes · count) on the labels given; a list is taken as is; none is no weights", () => {
    const labels = [0, 1, 1, 1, 1, 1, 1, 1, 0, 1];
    expect(Array.from(classWeights('balanced', labels, 2)!)).toEqual([10 / 4, 10 / 16]);
    expect(Array.from(classWeights('balanced', [0, 0, 2], 3)!)).toEqual([3 / 6, 1, 3 / 3]);
    expect(Array.from(classWeights(parseClassWeight('2,0.5', 2), labels, 2)!)).toEqual([2, 0.5]);
    expect(classWeights(parseClassWeight(undefined, 2), labels, 2)).toBeNull();
  });

  it('malformed lists are one usage error naming the expected form', () => {
    for (const bad of ['1', '1,2,3', '1,,2', 'a,b', '-1,2', '0,0', 'heavy']) {
      expect(() => parseClassWeight(bad, 2), bad).toThrow(/^train: --class-weight must be none, balanced or 2 non-negative weights w0,...,w1 \(not all 0\), got '/);
    }
  });
});
