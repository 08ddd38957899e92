import { describe, expect, it } from 'vitest';
import type { AdamHyper, RmspropHyper } from '../src/kernels/backend.ts';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import * as gpuOps from '../src/kernels/optimizers.ts';
import { ADAM_DEFAULTS, RMSPROP_DEFAULTS } from '../src/nn/optimizers.ts';
import * as ref from '../src/kernels/optimizers.ref.ts';
import type { GpuTensor } from '../src/kernels/engine.ts';
import { expectClose } from './support/compare.ts';
import { useGpu } from './support/gpu.ts';
import { randomTensor, rng, TEST_SEED } from './support/random.ts';
import { GPU_VS_CPU, OPTIMIZER } from './support/tolerances.ts';

const gpu = useGpu();
const random = rng(TEST_SEED);

// Seven parameters (float32-exact starting values) and five steps of
// hand-written gradients: signs that flip, magnitudes from 2 down to 1e-7,
// where epsilon is as large as √v and its place in the formula shows.
const P0 = [0.5, -0.75, 0.25, -0.125, 0.875, 0.375, -0.625];
const GRADS = [
  [0.1, -0.2, 1.5, 1e-7, -0.03, 0.6, 2],
  [0.2, 0.1, -1.25, 2e-7, -0.05, -0.6, 1.5],
  [-0.3, -0.4, 0.75, -1e-7, 0.04, 0.5, -2],
  [0.05, 0.25, 1, 3e-7, -0.01, -0.4, 0.5],
  [0.15, -0.35, -0.5, 1e-7, 0.02, 0.3, 1],
];
const STEPS = GRADS.length;

type Slots = Record<string, number[]>;

/** Keras 2.3 RMSprop.get_updates written out for one scalar, accumulator from 0 as Keras starts it. */
function kerasRmsprop(p0: number, grads: number[], h: RmspropHyper): { param: number; acc: number } {
  let [param, acc] = [p0, 0];
  for (const g of grads) {
    acc = h.rho * acc + (1 - h.rho) * g ** 2;
    param = param - (h.lr * g) / (Math.sqrt(acc) + h.epsilon);
  }
  return { param, acc };
}

/** Keras 2.3 Adam.get_updates written out for one scalar, moments from 0. */
function kerasAdam(p0: number, grads: number[], h: Omit<AdamHyper, 't'>): { param: number; m: number; v: number } {
  let [param, m, v] = [p0, 0, 0];
  grads.forEach((g, k) => {
    const t = k + 1;
    const lrT = (h.lr * Math.sqrt(1 - h.beta2 ** t)) / (1 - h.beta1 ** t);
    m = h.beta1 * m + (1 - h.beta1) * g;
    v = h.beta2 * v + (1 - h.beta2) * g ** 2;
    param = param - (lrT * m) / (Math.sqrt(v) + h.epsilon);
  });
  return { param, m, v };
}

/** Expected values per slot after `steps` steps, one Keras scalar computation per parameter. */
function expectedSlots<S extends Record<string, number>>(keras: (p0: number, grads: number[]) => S, steps: number): Slots {
  const perParam = P0.map((p0, i) => keras(p0, GRADS.slice(0, steps).map((row) => row[i])));
  return Object.fromEntries(Object.keys(perParam[0]).map((slot) => [slot, perParam.map((s) => s[slot])]));
}

function expectSlotsMatch(actual: Slots, expected: Slots, what: string): void {
  for (const slot of Object.keys(expected)) {
    const worst = Math.max(...expected[slot].map((e, i) => Math.abs(actual[slot][i] - e)));
    expect(worst, `${what}: ${slot}, largest absolute difference from Keras 2 (seed ${TEST_SEED})`).toBeLessThan(OPTIMIZER);
  }
}

/** Runs `steps` steps of an optimizer on the CPU reference, state from zeros. */
function cpuSteps(slots: string[], steps: number, step: (tensors: CpuTensor[], grad: CpuTensor, t: number) => void): Slots {
  const tensors = [CpuTensor.from(P0, [P0.length]), ...slots.slice(1).map(() => new CpuTensor([P0.length]))];
  for (let k = 0; k < steps; k++) step(tensors, CpuTensor.from(GRADS[k], [P0.length]), k + 1);
  return Object.fromEntries(slots.map((slot, i) => [slot, [...tensors[i].data]]));
}

/** The same on the GPU, each step's gradient in its own buffer. */
async function gpuSteps(slots: string[], steps: number, step: (tensors: GpuTensor[], grad: GpuTensor, t: number) => void): Promise<Slots> {
  const g = gpu();
  const tensors = [g.upload(P0, [P0.length]), ...slots.slice(1).map(() => g.upload(new Float32Array(P0.length), [P0.length]))];
  for (let k = 0; k < steps; k++) step(tensors, g.upload(GRADS[k], [P0.length]), k + 1);
  return Object.fromEntries(await Promise.all(slots.map(async (slot, i) => [slot, [...(await g.read(tensors[i]))]])));
}

/** Float32-representable random values, so that CPU and GPU start from the same numbers. */
function randomF32(shape: number[], positive = false): CpuTensor {
  const t = randomTensor(shape, random);
  for (let i = 0; i < t.size; i++) t.data[i] = Math.fround(positive ? Math.abs(t.data[i]) : t.data[i]);
  return t;
}

/** (after − before) elementwise: the update itself, which the parameter's size would hide. */
function change(after: ArrayLike<number>, before: Float64Array): Float64Array {
  return before.map((b, i) => after[i] - b);
}

// 1, 3 and 1,215 are no multiple of 4; 16,777,219 > 65,535 × 256 folds the dispatch into y.
const SIZES = [[1], [3], [3, 3, 3, 32], [9, 9, 3, 5], [10368, 128], [16_777_219]];

describe('RMSprop', () => {
  const RMS: [string, RmspropHyper][] = [
    ['Keras defaults', RMSPROP_DEFAULTS],
    ['lr=0.01 rho=0.8 epsilon=1e-6', { lr: 0.01, rho: 0.8, epsilon: 1e-6 }],
  ];
  const slots = ['param', 'acc'];

  it('defaults are Keras 2\'s', () => {
    expect(RMSPROP_DEFAULTS).toEqual({ lr: 0.001, rho: 0.9, epsilon: 1e-7 });
  });

  for (const [name, h] of RMS) {
    it(`param=[7], ${name}: 5 steps equal the hand-computed Keras 2 updates (CPU and GPU)`, async () => {
      const expected = expectedSlots((p0, grads) => kerasRmsprop(p0, grads, h), STEPS);
      expectSlotsMatch(cpuSteps(slots, STEPS, ([p, acc], grad) => ref.rmspropUpdate(p, grad, acc, h)), expected, 'CPU');
      expectSlotsMatch(await gpuSteps(slots, STEPS, ([p, acc], grad) => gpuOps.rmspropUpdate(gpu(), p, grad, acc, h)), expected, 'GPU');
    });
  }

  it('param=[7]: the first step from a zero accumulator is −lr·sign(g)/√(1 − rho), for |g| ≫ epsilon', () => {
    const { param } = cpuSteps(slots, 1, ([p, acc], grad) => ref.rmspropUpdate(p, grad, acc, RMSPROP_DEFAULTS));
    for (let i = 0; i < P0.length; i++) {
      if (Math.abs(GRADS[0][i]) < 0.01) continue;
      const closedForm = (-RMSPROP_DEFAULTS.lr * Math.sign(GRADS[0][i])) / Math.sqrt(1 - RMSPROP_DEFAULTS.rho);
      expect(Math.abs(param[i] - P0[i] - closedForm), `parameter ${i}`).toBeLessThan(OPTIMIZER);
    }
  });

  for (const shape of SIZES) {
    it(`param=[${shape}]: GPU matches the CPU reference over two steps`, async () => {
      const g = gpu();
      const h = { lr: 0.01, rho: 0.9, epsilon: 1e-7 };
      const [param, grad, acc] = [randomF32(shape), randomF32(shape), randomF32(shape, true)];
      const before = Float64Array.from(param.data);
      const [pg, gg, ag] = [param, grad, acc].map((t) => g.upload(t.data, shape));
      for (let k = 0; k < 2; k++) {
        ref.rmspropUpdate(param, grad, acc, h);
        gpuOps.rmspropUpdate(g, pg, gg, ag, h);
      }
      expectClose(change(await g.read(pg), before), change(param.data, before), GPU_VS_CPU, 'param change');
      expectClose(await g.read(ag), acc.data, GPU_VS_CPU, 'acc');
    });
  }
});

describe('Adam', () => {
  const ADAM: [string, Omit<AdamHyper, 't'>][] = [
    ['Keras defaults', ADAM_DEFAULTS],
    ['lr=0.002 beta1=0.8 beta2=0.99 epsilon=1e-6', { lr: 0.002, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 }],
  ];
  const slots = ['param', 'm', 'v'];

  it('defaults are Keras 2\'s', () => {
    expect(ADAM_DEFAULTS).toEqual({ lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
  });

  for (const [name, h] of ADAM) {
    it(`param=[7], ${name}: 5 steps equal the hand-computed Keras 2 updates (CPU and GPU)`, async () => {
      const expected = expectedSlots((p0, grads) => kerasAdam(p0, grads, h), STEPS);
      expectSlotsMatch(cpuSteps(slots, STEPS, ([p, m, v], grad, t) => ref.adamUpdate(p, grad, m, v, { ...h, t })), expected, 'CPU');
      expectSlotsMatch(await gpuSteps(slots, STEPS, ([p, m, v], grad, t) => gpuOps.adamUpdate(gpu(), p, grad, m, v, { ...h, t })), expected, 'GPU');
    });
  }

  it('param=[7]: the first step is −lr·sign(g), for |g| ≫ epsilon (bias correction through lr_t)', () => {
    const { param } = cpuSteps(slots, 1, ([p, m, v], grad, t) => ref.adamUpdate(p, grad, m, v, { ...ADAM_DEFAULTS, t }));
    for (let i = 0; i < P0.length; i++) {
      if (Math.abs(GRADS[0][i]) < 0.01) continue;
      expect(Math.abs(param[i] - P0[i] + ADAM_DEFAULTS.lr * Math.sign(GRADS[0][i])), `parameter ${i}`).toBeLessThan(OPTIMIZER);
    }
  });

  for (const shape of SIZES) {
    it(`param=[${shape}]: GPU matches the CPU reference over two steps`, async () => {
      const g = gpu();
      const [param, grad, m, v] = [randomF32(shape), randomF32(shape), randomF32(shape), randomF32(shape, true)];
      // The GPU rounds the new parameter to float32, an error of 2^-24·|param| in the change: small
      // parameters keep it far below the tolerance, and a first moment of the gradient's sign keeps
      // the change from cancelling to nothing (as web/kernel-checks.ts does).
      param.data.set(param.data.map((x) => Math.fround(x * 1e-3)));
      m.data.set(m.data.map((x, i) => Math.sign(grad.data[i]) * Math.abs(x)));
      const before = Float64Array.from(param.data);
      const [pg, gg, mg, vg] = [param, grad, m, v].map((t) => g.upload(t.data, shape));
      for (const t of [3, 4]) {
        const h = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, t };
        ref.adamUpdate(param, grad, m, v, h);
        gpuOps.adamUpdate(g, pg, gg, mg, vg, h);
      }
      expectClose(change(await g.read(pg), before), change(param.data, before), GPU_VS_CPU, 'param change');
      expectClose(await g.read(mg), m.data, GPU_VS_CPU, 'm');
      expectClose(await g.read(vg), v.data, GPU_VS_CPU, 'v');
    });
  }
});
