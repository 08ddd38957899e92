// Every GPU kernel, forward and backward, against its float64 CPU reference,
// run inside a browser page on the browser's own WebGPU (test/browser.test.ts
// imports this module into the page and asserts on the report). The shapes
// are the paper's (at a small batch, so that a software adapter stays quick)
// and edge shapes: 1×1×1×1, odd sizes, channel counts that are not multiples
// of 4, kernels from 1 to 5 (even and rectangular ones too), 'valid' and
// 'same' padding, stride 2, pools of 2 to 4 and overlapping ones, batch
// normalisation and the smooth activations. Outputs are poisoned with NaN, so
// a cell a kernel leaves unwritten shows up as non-finite.
import type { AdamHyper, Pool2dOptions, RmspropHyper } from '../src/kernels/backend.ts';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import type { AdapterDescription, Engine, GpuTensor, KernelPath } from '../src/kernels/engine.ts';
import * as act from '../src/kernels/activation.ts';
import * as actRef from '../src/kernels/activation.ref.ts';
import * as bn from '../src/kernels/batchnorm.ts';
import * as bnRef from '../src/kernels/batchnorm.ref.ts';
import * as conv from '../src/kernels/conv2d.ts';
import * as convRef from '../src/kernels/conv2d.ref.ts';
import * as ce from '../src/kernels/cross-entropy.ts';
import * as ceRef from '../src/kernels/cross-entropy.ref.ts';
import * as dense from '../src/kernels/dense.ts';
import * as denseRef from '../src/kernels/dense.ref.ts';
import * as drop from '../src/kernels/dropout.ts';
import * as dropRef from '../src/kernels/dropout.ref.ts';
import * as col from '../src/kernels/columns.ts';
import * as colRef from '../src/kernels/columns.ref.ts';
import * as ew from '../src/kernels/elementwise.ts';
import * as ewRef from '../src/kernels/elementwise.ref.ts';
import * as pool from '../src/kernels/pool2d.ts';
import * as poolRef from '../src/kernels/pool2d.ref.ts';
import { POOL_2X2_SAME } from '../src/kernels/shapes.ts';
import * as opt from '../src/kernels/optimizers.ts';
import * as optRef from '../src/kernels/optimizers.ref.ts';
import { openEngine } from '../src/platform/browser/engine.ts';
import { randomOneHot, randomTensor, rng } from '../test/support/random.ts';
import { relativeError } from '../test/support/relative-error.ts';

export interface KernelResult {
  /** The Backend primitive (src/kernels/backend.ts), e.g. 'conv2dBackwardFilter'. */
  kernel: string;
  /** Which of its outputs, e.g. 'dw'. */
  output: string;
  shape: string;
  /** The GEMM path for conv2d and dense; '-' for kernels with a single implementation. */
  path: KernelPath | '-';
  /** ‖gpu − cpu‖/‖cpu‖ as test/support/compare.ts measures it; for an integer output (max-pool's argmax), the count of differing elements. */
  error: number;
  /** Elements that are NaN or infinite: a cell left unwritten keeps its NaN poison. */
  nonFinite: number;
}

export interface KernelReport {
  adapter: AdapterDescription;
  /** The GEMM paths checked: 'subgroups' only where the engine can run it on this adapter. */
  paths: KernelPath[];
  seed: number;
  results: KernelResult[];
}

type Shape = readonly number[];
type Where = Omit<KernelResult, 'error' | 'nonFinite'>;
const fmt = (name: string, s: Shape) => `${name}=[${s.join(',')}]`;

/** Runs every check on a fresh engine (outputs poisoned) and closes it. */
export async function runKernelChecks(seed: number): Promise<KernelReport> {
  const g = await openEngine({ poisonOutputs: true });
  try {
    const paths: KernelPath[] = g.subgroupSize === null ? ['portable'] : ['portable', 'subgroups'];
    const checks = new Checks(g, seed);
    await checks.conv2d(paths);
    await checks.pool2d();
    await checks.dense(paths);
    await checks.leakyRelu();
    await checks.batchNorm();
    await checks.hiddenActivations();
    await checks.crossEntropy();
    await checks.dropout();
    await checks.rmsprop();
    await checks.adam();
    await checks.add();
    await checks.columns();
    return { adapter: g.info, paths, seed, results: checks.results };
  } finally {
    g.destroy();
  }
}

// The optimizers take two steps from random state, at sizes that are no
// multiple of 4 and at dense1's kernel. The parameter is compared by its
// change (after − before), which its own size would hide. The GPU rounds the
// new parameter to float32, an error of up to 2^-24·|param| in the change:
// parameters of at most 1e-3 keep that below 1e-5 of the smallest step here
// (1e-4 for RMSprop, 2e-5 for Adam, whose first moment starts with its
// gradient's sign so that it never cancels to zero).
const OPTIMIZER_SHAPES: Shape[] = [[1], [3], [3, 3, 3, 32], [10_368, 128]];
const PARAM_SCALE = 1e-3;

class Checks {
  readonly results: KernelResult[] = [];
  private readonly random: () => number;

  constructor(
    private readonly g: Engine,
    seed: number,
  ) {
    this.random = rng(seed);
  }

  private tensor(shape: Shape, scale = 1): CpuTensor {
    return randomTensor(shape, this.random, scale);
  }

  /** Values that float32 holds exactly, so that both sides start from the same numbers (and meet the same max-pool ties). */
  private float32(shape: Shape, { scale = 1, positive = false } = {}): CpuTensor {
    const t = this.tensor(shape, scale);
    t.data.set(t.data.map((v) => Math.fround(positive ? Math.abs(v) : v)));
    return t;
  }

  private upload(...ts: CpuTensor[]): GpuTensor[] {
    return ts.map((t) => this.g.upload(t.data, t.shape));
  }

  /** Reads a GPU output, measures it against the reference, and frees it. */
  private async compare(where: Where, gpu: GpuTensor, ref: ArrayLike<number>): Promise<void> {
    const got = gpu.dtype === 'u32' ? await this.g.readU32(gpu) : await this.g.read(gpu);
    gpu.dispose();
    this.record(where, got, ref, gpu.dtype === 'u32');
  }

  /** `compare` for a parameter updated in place: its change (after − before). */
  private async compareChange(where: Where, gpu: GpuTensor, after: Float64Array, before: Float64Array): Promise<void> {
    const got = await this.g.read(gpu);
    gpu.dispose();
    this.record(where, Float64Array.from(got, (v, i) => v - before[i]), after.map((v, i) => v - before[i]));
  }

  private record(where: Where, got: ArrayLike<number>, ref: ArrayLike<number>, integer = false): void {
    let nonFinite = 0;
    let differ = 0;
    for (let i = 0; i < got.length; i++) {
      if (!Number.isFinite(got[i])) nonFinite++;
      if (got[i] !== ref[i]) differ++;
    }
    const error = got.length !== ref.length ? Infinity : integer ? differ : relativeError(got, ref);
    this.results.push({ ...where, error, nonFinite });
  }

  async conv2d(paths: KernelPath[]): Promise<void> {
    type Geometry = Parameters<typeof conv.conv2dForward>[4];
    const same: Geometry = { strides: [1, 1], padding: 'same' };
    const valid: Geometry = { strides: [1, 1], padding: 'valid' };
    const sameStride2: Geometry = { strides: [2, 2], padding: 'same' };
    const validStride2: Geometry = { strides: [2, 2], padding: 'valid' };
    // [x N×H×W×C, kernel KH×KW, F, strides and padding]
    const cases: [Shape, [number, number], number, Geometry][] = [
      [[1, 1, 1, 1], [3, 3], 1, same],
      [[3, 2, 2, 3], [3, 3], 5, same],
      [[1, 3, 3, 32], [5, 5], 3, same],
      [[3, 9, 9, 1], [1, 1], 32, same],
      [[2, 5, 9, 6], [3, 3], 22, same],
      [[2, 69, 69, 3], [3, 3], 32, same],
      [[2, 35, 35, 32], [3, 3], 64, same],
      [[2, 18, 18, 64], [3, 3], 128, same],
      [[2, 29, 29, 16], [3, 3], 32, valid],
      [[2, 9, 9, 5], [3, 3], 6, sameStride2],
      [[2, 10, 10, 3], [3, 3], 5, validStride2],
      [[2, 7, 6, 3], [2, 2], 5, same],
      [[2, 9, 8, 5], [4, 4], 6, sameStride2],
      [[2, 6, 9, 5], [3, 5], 4, same],
    ];
    for (const [xShape, kernel, F, geometry] of cases) {
      const [N, , , C] = xShape;
      const x = this.tensor(xShape);
      const w = this.tensor([...kernel, C, F]);
      const b = this.tensor([F]);
      const y = convRef.conv2dForward(x, w, b, geometry);
      const dy = this.tensor([N, y.shape[1], y.shape[2], F]);
      const dx = convRef.conv2dBackwardInput(dy, w, xShape, geometry);
      const { dw, db } = convRef.conv2dBackwardFilter(x, dy, kernel, geometry);
      const [xg, wg, bg, dyg] = this.upload(x, w, b, dy);
      const shape = `${fmt('x', xShape)} ${fmt('w', w.shape)} ${geometry.padding} stride ${geometry.strides.join('×')}`;
      for (const path of paths) {
        await this.compare({ kernel: 'conv2dForward', output: 'y', shape, path }, conv.conv2dForward(this.g, xg, wg, bg, geometry, path), y.data);
        await this.compare({ kernel: 'conv2dBackwardInput', output: 'dx', shape, path }, conv.conv2dBackwardInput(this.g, dyg, wg, xShape, geometry, path), dx.data);
        const got = conv.conv2dBackwardFilter(this.g, xg, dyg, kernel, geometry, path);
        await this.compare({ kernel: 'conv2dBackwardFilter', output: 'dw', shape, path }, got.dw, dw.data);
        await this.compare({ kernel: 'conv2dBackwardFilter', output: 'db', shape, path }, got.db, db.data);
      }
      [xg, wg, bg, dyg].forEach((t) => t.dispose());
    }
  }

  async pool2d(): Promise<void> {
    // The paper's 2×2/2 'same' at its own shapes and edge ones, braai's
    // 'valid' 4×4 (odd leftovers dropped), and a 3×3 stride 1 whose windows
    // overlap.
    const paper: Shape[] = [[1, 1, 1, 1], [3, 2, 3, 3], [2, 5, 8, 3], [1, 7, 9, 4], [2, 69, 69, 32], [2, 35, 35, 64], [2, 18, 18, 128]];
    const cases: [Shape, Pool2dOptions][] = [
      ...paper.map((xShape): [Shape, Pool2dOptions] => [xShape, POOL_2X2_SAME]),
      [[2, 25, 25, 8], { size: [4, 4], strides: [4, 4], padding: 'valid' }],
      [[2, 9, 7, 3], { size: [3, 3], strides: [1, 1], padding: 'same' }],
      [[1, 9, 7, 32], { size: [3, 3], strides: [1, 1], padding: 'valid' }],
    ];
    for (const [xShape, p] of cases) {
      const x = this.float32(xShape);
      const { y, argmax } = poolRef.maxPool2dForward(x, p);
      const dy = this.float32(y.shape);
      const [xg, dyg] = this.upload(x, dy);
      const shape = `${fmt('x', xShape)} ${p.size.join('×')}/${p.strides.join('×')} ${p.padding}`;
      const got = pool.maxPool2dForward(this.g, xg, p);
      await this.compare({ kernel: 'maxPool2dForward', output: 'y', shape, path: '-' }, got.y, y.data);
      const dx = pool.maxPool2dBackward(this.g, dyg, got.argmax, xShape, p);
      await this.compare({ kernel: 'maxPool2dBackward', output: 'dx', shape, path: '-' }, dx, poolRef.maxPool2dBackward(dy, argmax, xShape, p).data);
      await this.compare({ kernel: 'maxPool2dForward', output: 'argmax', shape, path: '-' }, got.argmax, argmax.data);
      await this.compare({ kernel: 'avgPool2dForward', output: 'y', shape, path: '-' }, pool.avgPool2dForward(this.g, xg, p), poolRef.avgPool2dForward(x, p).data);
      await this.compare({ kernel: 'avgPool2dBackward', output: 'dx', shape, path: '-' }, pool.avgPool2dBackward(this.g, dyg, xShape, p), poolRef.avgPool2dBackward(dy, xShape, p).data);
      [xg, dyg].forEach((t) => t.dispose());
    }
  }

  async dense(paths: KernelPath[]): Promise<void> {
    // [N, K, M]: the paper's dense1 and dense2, sizes that are not multiples
    // of 4, and a batch past one subgroup tile's 32 rows with ragged edges.
    const cases: [number, number, number][] = [
      [1, 1, 1],
      [3, 3, 2],
      [1, 7, 3],
      [5, 13, 37],
      [67, 130, 33],
      [3, 1001, 10],
      [2, 10_368, 128],
      [2, 128, 2],
    ];
    for (const [N, K, M] of cases) {
      const [x, w, b, dy] = [this.tensor([N, K]), this.tensor([K, M]), this.tensor([M]), this.tensor([N, M])];
      const y = denseRef.denseForward(x, w, b);
      const dx = denseRef.denseBackwardInput(dy, w);
      const { dw, db } = denseRef.denseBackwardWeights(x, dy);
      const [xg, wg, bg, dyg] = this.upload(x, w, b, dy);
      const shape = `${fmt('x', x.shape)} ${fmt('w', w.shape)}`;
      for (const path of paths) {
        await this.compare({ kernel: 'denseForward', output: 'y', shape, path }, dense.denseForward(this.g, xg, wg, bg, path), y.data);
        await this.compare({ kernel: 'denseBackwardInput', output: 'dx', shape, path }, dense.denseBackwardInput(this.g, dyg, wg, path), dx.data);
        const got = dense.denseBackwardWeights(this.g, xg, dyg, path);
        await this.compare({ kernel: 'denseBackwardWeights', output: 'dw', shape, path }, got.dw, dw.data);
        await this.compare({ kernel: 'denseBackwardWeights', output: 'db', shape, path }, got.db, db.data);
      }
      [xg, wg, bg, dyg].forEach((t) => t.dispose());
    }
  }

  async leakyRelu(): Promise<void> {
    // Whole vec4s and a scalar tail of every length, at the paper's activations.
    const cases: [Shape, number][] = [
      [[1, 1, 1, 1], 0],
      [[2, 5, 5, 3], 0.1],
      [[2, 69, 69, 32], 0],
      [[2, 18, 18, 128], 0.1],
    ];
    for (const [s, alpha] of cases) {
      const [x, dy] = [this.tensor(s), this.tensor(s)];
      const [xg, dyg] = this.upload(x, dy);
      const shape = `${fmt('x', s)} alpha=${alpha}`;
      await this.compare({ kernel: 'leakyReluForward', output: 'y', shape, path: '-' }, act.leakyReluForward(this.g, xg, alpha), actRef.leakyReluForward(x, alpha).data);
      await this.compare({ kernel: 'leakyReluBackward', output: 'dx', shape, path: '-' }, act.leakyReluBackward(this.g, xg, dyg, alpha), actRef.leakyReluBackward(x, dy, alpha).data);
      [xg, dyg].forEach((t) => t.dispose());
    }
  }

  /**
   * Batch statistics, forward, backward (from the GPU's own statistics) and a
   * moving-average step: channels whose vec4s recur every 3, 5, 4 and 8
   * vec4s (the kernels' slots), tails of 2, 2 and 0 values, and a conv1
   * activation.
   */
  async batchNorm(): Promise<void> {
    const shapes: Shape[] = [[2, 3], [2, 5, 5, 5], [2, 6, 6, 16], [2, 35, 35, 32]];
    const epsilon = 1e-3;
    for (const s of shapes) {
      const C = s[s.length - 1];
      const [x, dy, gamma, beta, moving] = [this.tensor(s), this.tensor(s), this.tensor([C]), this.tensor([C]), this.tensor([C])];
      const [xg, dyg, gammag, betag, movingg] = this.upload(x, dy, gamma, beta, moving);
      const shape = fmt('x', s);
      const where = (kernel: string, output: string): Where => ({ kernel, output, shape, path: '-' });
      const want = bnRef.batchNormStatistics(x);
      const grads = bnRef.batchNormBackward(x, dy, want.mean, want.variance, gamma, epsilon);
      bnRef.movingAverageUpdate(moving, want.variance, 0.99, 1.5);
      const stats = bn.batchNormStatistics(this.g, xg);
      const y = bn.batchNormForward(this.g, xg, stats.mean, stats.variance, gammag, betag, epsilon);
      const got = bn.batchNormBackward(this.g, xg, dyg, stats.mean, stats.variance, gammag, epsilon);
      bn.movingAverageUpdate(this.g, movingg, stats.variance, 0.99, 1.5);
      await this.compare(where('batchNormForward', 'y'), y, bnRef.batchNormForward(x, want.mean, want.variance, gamma, beta, epsilon).data);
      await this.compare(where('batchNormBackward', 'dx'), got.dx, grads.dx.data);
      await this.compare(where('batchNormBackward', 'dgamma'), got.dgamma, grads.dgamma.data);
      await this.compare(where('batchNormBackward', 'dbeta'), got.dbeta, grads.dbeta.data);
      await this.compare(where('movingAverageUpdate', 'moving'), movingg, moving.data);
      await this.compare(where('batchNormStatistics', 'mean'), stats.mean, want.mean.data);
      await this.compare(where('batchNormStatistics', 'variance'), stats.variance, want.variance.data);
      [xg, dyg, gammag, betag].forEach((t) => t.dispose());
    }
  }

  /** tanh, sigmoid and softmax: rows of 1 and 10, and images whose last axis is their channels; the backward from the reference's y. */
  async hiddenActivations(): Promise<void> {
    const shapes: Shape[] = [[3, 1], [3, 10], [2, 5, 5, 6], [2, 18, 18, 16]];
    for (const kind of ['tanh', 'sigmoid', 'softmax'] as const) {
      for (const s of shapes) {
        const [x, dy] = [this.tensor(s, 3), this.tensor(s)];
        const y = actRef.activationForward(x, kind);
        const [xg, yg, dyg] = this.upload(x, y, dy);
        const shape = `${fmt('x', s)} ${kind}`;
        await this.compare({ kernel: 'activationForward', output: 'y', shape, path: '-' }, act.activationForward(this.g, xg, kind), y.data);
        await this.compare({ kernel: 'activationBackward', output: 'dx', shape, path: '-' }, act.activationBackward(this.g, yg, dyg, kind), actRef.activationBackward(y, dy, kind).data);
        [xg, yg, dyg].forEach((t) => t.dispose());
      }
    }
  }

  /**
   * Both losses (backend.ts's LossName), with logits in ±4: every probability
   * stays inside Keras 2.2's clip range, and far enough from 0 and 1 that
   * float32's probs − targets keeps its relative precision. (Saturated
   * outputs, where the two losses part, are the Node suite's exact checks.)
   */
  async crossEntropy(): Promise<void> {
    for (const loss of ['logits', 'keras2-clipped'] as const) {
      for (const [n, c] of [[1, 2], [2, 2], [3, 3], [3, 10]]) {
        const [logits, onehot] = [this.tensor([n, c], 4), randomOneHot(n, c, this.random)];
        const [lg, tg] = this.upload(logits, onehot);
        const want = ceRef.softmaxCrossEntropy(logits, onehot, loss);
        const shape = `${fmt('logits', logits.shape)} ${loss}`;
        const got = ce.softmaxCrossEntropy(this.g, lg, tg, loss);
        await this.compare({ kernel: 'softmaxCrossEntropy', output: 'probs', shape, path: '-' }, got.probs, want.probs.data);
        await this.compare({ kernel: 'softmaxCrossEntropy', output: 'dlogits', shape, path: '-' }, got.dlogits, want.dlogits.data);
        await this.compare({ kernel: 'softmax', output: 'probs', shape, path: '-' }, ce.softmax(this.g, lg), ceRef.softmax(logits).data);
        [lg, tg].forEach((t) => t.dispose());
      }
      for (const n of [1, 2, 3, 64]) {
        const logits = this.tensor([n, 1], 4);
        const targets = CpuTensor.from(Array.from({ length: n }, () => (this.random() < 0.5 ? 0 : 1)), [n, 1]);
        const [lg, tg] = this.upload(logits, targets);
        const want = ceRef.sigmoidBinaryCrossEntropy(logits, targets, loss);
        const shape = `${fmt('logits', logits.shape)} ${loss}`;
        const got = ce.sigmoidBinaryCrossEntropy(this.g, lg, tg, loss);
        await this.compare({ kernel: 'sigmoidBinaryCrossEntropy', output: 'probs', shape, path: '-' }, got.probs, want.probs.data);
        await this.compare({ kernel: 'sigmoidBinaryCrossEntropy', output: 'dlogits', shape, path: '-' }, got.dlogits, want.dlogits.data);
        await this.compare({ kernel: 'sigmoid', output: 'probs', shape, path: '-' }, ce.sigmoid(this.g, lg), ceRef.sigmoid(logits).data);
        [lg, tg].forEach((t) => t.dispose());
      }
    }
  }

  async dropout(): Promise<void> {
    // Inputs are never zero, so a mask that differs from the CPU's shows as a large error.
    const cases: [Shape, number][] = [
      [[1, 3, 3, 1], 0.4],
      [[2, 35, 35, 32], 0.25],
      [[2, 9, 9, 128], 0.4],
      [[2, 128], 0.3],
    ];
    for (const [s, rate] of cases) {
      const [x, dy] = [this.tensor(s), this.tensor(s)];
      const [seed, step] = [Math.floor(this.random() * 2 ** 32), Math.floor(this.random() * 2 ** 32)];
      const [xg, dyg] = this.upload(x, dy);
      const shape = `${fmt('x', s)} rate=${rate}`;
      await this.compare({ kernel: 'dropoutForward', output: 'y', shape, path: '-' }, drop.dropoutForward(this.g, xg, rate, seed, step), dropRef.dropoutForward(x, rate, seed, step).data);
      await this.compare({ kernel: 'dropoutBackward', output: 'dx', shape, path: '-' }, drop.dropoutBackward(this.g, dyg, rate, seed, step), dropRef.dropoutBackward(dy, rate, seed, step).data);
      [xg, dyg].forEach((t) => t.dispose());
    }
  }

  async rmsprop(): Promise<void> {
    const h: RmspropHyper = { lr: 0.01, rho: 0.9, epsilon: 1e-7 };
    for (const s of OPTIMIZER_SHAPES) {
      const [param, grad, acc] = [this.float32(s, { scale: PARAM_SCALE }), this.float32(s), this.float32(s, { positive: true })];
      const before = Float64Array.from(param.data);
      const [pg, gg, ag] = this.upload(param, grad, acc);
      for (let k = 0; k < 2; k++) {
        optRef.rmspropUpdate(param, grad, acc, h);
        opt.rmspropUpdate(this.g, pg, gg, ag, h);
      }
      const shape = fmt('param', s);
      await this.compareChange({ kernel: 'rmspropUpdate', output: 'param change', shape, path: '-' }, pg, param.data, before);
      await this.compare({ kernel: 'rmspropUpdate', output: 'acc', shape, path: '-' }, ag, acc.data);
      gg.dispose();
    }
  }

  async adam(): Promise<void> {
    for (const s of OPTIMIZER_SHAPES) {
      const [param, grad, m, v] = [this.float32(s, { scale: PARAM_SCALE }), this.float32(s), this.float32(s, { positive: true }), this.float32(s, { positive: true })];
      m.data.forEach((value, i) => (m.data[i] = Math.sign(grad.data[i]) * value));
      const before = Float64Array.from(param.data);
      const [pg, gg, mg, vg] = this.upload(param, grad, m, v);
      for (const t of [3, 4]) {
        const h: AdamHyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, t };
        optRef.adamUpdate(param, grad, m, v, h);
        opt.adamUpdate(this.g, pg, gg, mg, vg, h);
      }
      const shape = fmt('param', s);
      await this.compareChange({ kernel: 'adamUpdate', output: 'param change', shape, path: '-' }, pg, param.data, before);
      await this.compare({ kernel: 'adamUpdate', output: 'm', shape, path: '-' }, mg, m.data);
      await this.compare({ kernel: 'adamUpdate', output: 'v', shape, path: '-' }, vg, v.data);
      gg.dispose();
    }
  }

  async add(): Promise<void> {
    // Whole vec4s, then a tail of n % 4: every tail length, tail only, and an activation's size.
    const shapes: Shape[] = [[1], [3], [4], [2, 3], [5, 7], [2, 18, 18, 128]];
    for (const s of shapes) {
      const [a, b] = [this.tensor(s), this.tensor(s)];
      const [ag, bg] = this.upload(a, b);
      await this.compare({ kernel: 'add', output: 'y', shape: fmt('x', s), path: '-' }, ew.add(this.g, ag, bg), ewRef.add(a, b).data);
      await this.compare({ kernel: 'mul', output: 'y', shape: fmt('x', s), path: '-' }, ew.mul(this.g, ag, bg), ewRef.mul(a, b).data);
      [ag, bg].forEach((t) => t.dispose());
    }
  }

  /** A graph model's Concat (image features beside metadata) and its backward, a slice, at widths that are and are not multiples of 4. */
  async columns(): Promise<void> {
    const cases: Shape[][] = [[[1, 1], [1, 2]], [[3, 5], [3, 4], [3, 7]], [[2, 3, 3, 6], [2, 3, 3, 2]], [[4, 1152], [4, 3]]];
    for (const shapes of cases) {
      const xs = shapes.map((s) => this.tensor(s));
      const gs = this.upload(...xs);
      const shape = shapes.map((s) => fmt('x', s)).join(' ');
      const joined = colRef.concatLastAxis(xs);
      await this.compare({ kernel: 'concatLastAxis', output: 'y', shape, path: '-' }, col.concatLastAxis(this.g, gs), joined.data);
      const width = joined.shape[joined.shape.length - 1];
      const [start, count] = [Math.floor(width / 3), Math.max(1, width - Math.floor(width / 3) - 1)];
      const whole = this.upload(joined)[0];
      await this.compare({ kernel: 'sliceLastAxis', output: 'y', shape: `${shape} [${start}, ${start + count})`, path: '-' }, col.sliceLastAxis(this.g, whole, start, count), colRef.sliceLastAxis(joined, start, count).data);
      [...gs, whole].forEach((t) => t.dispose());
    }
  }
}
