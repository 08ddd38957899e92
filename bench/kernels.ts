// Per-kernel figures: every primitive a training or inference step of the
// paper's networks runs, at the layers' own shapes, each timed alone through
// gpuBackend (its padding and reduction passes included). GEMM-like kernels
// report GFLOP/s against the best GEMM figure of the same run; memory-bound
// ones report GB/s against a buffer copy's bandwidth, measured the same way.
import type { Backend } from '../src/kernels/backend.ts';
import type { Engine, GpuTensor } from '../src/kernels/engine.ts';
import { POOL_2X2_SAME } from '../src/kernels/shapes.ts';
import { SAME_STRIDE_1 } from '../src/kernels/shapes.ts';
import { mulberry32 } from '../src/nn/init.ts';
import { ADAM_DEFAULTS, RMSPROP_DEFAULTS } from '../src/nn/optimizers.ts';
import { DEFAULT_LOSS } from '../src/nn/sequential.ts';
import { checked, GpuError, spread, type GpuTimer, type Spread } from './timing.ts';

/** What one kernel case does: inputs made once, `run` recorded once per repetition. */
interface KernelCase {
  op: string;
  layer: string;
  batch: number | null;
  shapes: string;
  /** Matrix dimensions of the product, for GEMM-like kernels. */
  gemm?: { M: number; N: number; K: number };
  /** Bytes read and written, for memory-bound kernels. */
  bytes?: number;
  inputs: () => GpuTensor[];
  /** Records the kernel; returns its outputs (disposed after each repetition). */
  run: (inputs: GpuTensor[]) => GpuTensor[];
}

export interface KernelFigures {
  op: string;
  layer: string;
  batch: number | null;
  shapes: string;
  gemm: string | null;
  ms: Spread;
  gflop_per_s: number | null;
  gb_per_s: number | null;
  /** GFLOP/s over the run's GEMM ceiling, or GB/s over its copy bandwidth (null until the ceiling is known). */
  of_ceiling: number | null;
}

/** A case the device rejected. */
export interface KernelFailure {
  op: string;
  layer: string;
  batch: number | null;
  shapes: string;
  error: string;
}

export interface KernelResults {
  timing: string;
  gemm_ceiling_gflop_per_s: number;
  gemm_ceiling_how: string;
  copy_gb_per_s: number;
  copy_how: string;
  cases: KernelFigures[];
  failures: KernelFailure[];
}

const fmt = (s: readonly number[]) => `[${s.join(',')}]`;

/** A tensor of `shape` with uniform values in [low, 1). */
function randomTensor(B: Backend<GpuTensor>, shape: number[], random: () => number, low = -1): GpuTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return B.fromArray(Float32Array.from({ length: n }, () => low + random() * (1 - low)), shape);
}

/** Conv forward, input gradient (conv2 and conv3 only: the step never needs the image's) and filter gradient. */
function convCases(B: Backend<GpuTensor>, layer: string, N: number, H: number, C: number, F: number, inputGradient: boolean, random: () => number): KernelCase[] {
  const K = 3;
  const x = [N, H, H, C];
  const w = [K, K, C, F];
  const y = [N, H, H, F];
  const M = N * H * H;
  const cases: KernelCase[] = [
    {
      op: 'conv2dForward', layer, batch: N, shapes: `x=${fmt(x)} w=${fmt(w)}`, gemm: { M, N: F, K: K * K * C },
      inputs: () => [randomTensor(B, x, random), randomTensor(B, w, random), randomTensor(B, [F], random)],
      run: ([xt, wt, bt]) => [B.conv2dForward(xt, wt, bt, SAME_STRIDE_1)],
    },
    {
      op: 'conv2dBackwardFilter', layer, batch: N, shapes: `x=${fmt(x)} dy=${fmt(y)}`, gemm: { M: K * K * C, N: F, K: M },
      inputs: () => [randomTensor(B, x, random), randomTensor(B, y, random)],
      run: ([xt, dyt]) => Object.values(B.conv2dBackwardFilter(xt, dyt, [K, K], SAME_STRIDE_1)),
    },
  ];
  if (inputGradient) {
    cases.splice(1, 0, {
      op: 'conv2dBackwardInput', layer, batch: N, shapes: `dy=${fmt(y)} w=${fmt(w)}`, gemm: { M, N: C, K: K * K * F },
      inputs: () => [randomTensor(B, y, random), randomTensor(B, w, random)],
      run: ([dyt, wt]) => [B.conv2dBackwardInput(dyt, wt, x, SAME_STRIDE_1)],
    });
  }
  return cases;
}

function denseCases(B: Backend<GpuTensor>, layer: string, N: number, K: number, M: number, random: () => number): KernelCase[] {
  return [
    {
      op: 'denseForward', layer, batch: N, shapes: `x=${fmt([N, K])} w=${fmt([K, M])}`, gemm: { M: N, N: M, K },
      inputs: () => [randomTensor(B, [N, K], random), randomTensor(B, [K, M], random), randomTensor(B, [M], random)],
      run: ([x, w, b]) => [B.denseForward(x, w, b)],
    },
    {
      op: 'denseBackwardInput', layer, batch: N, shapes: `dy=${fmt([N, M])} w=${fmt([K, M])}`, gemm: { M: N, N: K, K: M },
      inputs: () => [randomTensor(B, [N, M], random), randomTensor(B, [K, M], random)],
      run: ([dy, w]) => [B.denseBackwardInput(dy, w)],
    },
    {
      op: 'denseBackwardWeights', layer, batch: N, shapes: `x=${fmt([N, K])} dy=${fmt([N, M])}`, gemm: { M: K, N: M, K: N },
      inputs: () => [randomTensor(B, [N, K], random), randomTensor(B, [N, M], random)],
      run: ([x, dy]) => Object.values(B.denseBackwardWeights(x, dy)),
    },
  ];
}

/** The memory-bound kernels, at the largest tensor each meets in the networks. */
function memoryCases(B: Backend<GpuTensor>, N: number, random: () => number): KernelCase[] {
  const conv1 = [N, 69, 69, 32];
  const pool1 = [N, 35, 35, 32];
  const S = conv1.reduce((a, b) => a * b, 1) * 4;
  const P = pool1.reduce((a, b) => a * b, 1) * 4;
  const logits = [N, 2];
  const L = N * 2 * 4;
  return [
    { op: 'leakyReluForward', layer: 'conv1 relu', batch: N, shapes: `x=${fmt(conv1)}`, bytes: 2 * S, inputs: () => [randomTensor(B, conv1, random)], run: ([x]) => [B.leakyReluForward(x, 0)] },
    { op: 'leakyReluBackward', layer: 'conv1 relu', batch: N, shapes: `x=${fmt(conv1)}`, bytes: 3 * S, inputs: () => [randomTensor(B, conv1, random), randomTensor(B, conv1, random)], run: ([x, dy]) => [B.leakyReluBackward(x, dy, 0)] },
    {
      op: 'maxPool2dForward', layer: 'pool1', batch: N, shapes: `x=${fmt(conv1)}`, bytes: S + 2 * P,
      inputs: () => [randomTensor(B, conv1, random)], run: ([x]) => Object.values(B.maxPool2dForward(x, POOL_2X2_SAME)),
    },
    {
      op: 'maxPool2dBackward', layer: 'pool1', batch: N, shapes: `dy=${fmt(pool1)}`, bytes: 2 * P + S,
      inputs: () => {
        const x = randomTensor(B, conv1, random);
        const { y, argmax } = B.maxPool2dForward(x, POOL_2X2_SAME);
        x.dispose();
        y.dispose();
        return [randomTensor(B, pool1, random), argmax];
      },
      run: ([dy, argmax]) => [B.maxPool2dBackward(dy, argmax, conv1, POOL_2X2_SAME)],
    },
    { op: 'dropoutForward', layer: 'dropout1 (tuned)', batch: N, shapes: `x=${fmt(pool1)} rate=0.25`, bytes: 2 * P, inputs: () => [randomTensor(B, pool1, random)], run: ([x]) => [B.dropoutForward(x, 0.25, 7, 1)] },
    { op: 'dropoutBackward', layer: 'dropout1 (tuned)', batch: N, shapes: `dy=${fmt(pool1)} rate=0.25`, bytes: 2 * P, inputs: () => [randomTensor(B, pool1, random)], run: ([dy]) => [B.dropoutBackward(dy, 0.25, 7, 1)] },
    { op: 'add', layer: 'conv1 size', batch: N, shapes: `a=${fmt(conv1)}`, bytes: 3 * S, inputs: () => [randomTensor(B, conv1, random), randomTensor(B, conv1, random)], run: ([a, b]) => [B.add(a, b)] },
    { op: 'softmaxCrossEntropy', layer: 'output', batch: N, shapes: `logits=${fmt(logits)}`, bytes: 4 * L, inputs: () => [randomTensor(B, logits, random), B.fromArray(Float32Array.from({ length: N * 2 }, (_, i) => +(i % 2 === 0)), logits)], run: ([z, t]) => Object.values(B.softmaxCrossEntropy(z, t, DEFAULT_LOSS)) },
    { op: 'softmax', layer: 'output', batch: N, shapes: `logits=${fmt(logits)}`, bytes: 2 * L, inputs: () => [randomTensor(B, logits, random)], run: ([z]) => [B.softmax(z)] },
  ];
}

/** The optimizers' in-place updates over the largest parameter (dense1's kernel, 94% of the weights). */
function optimizerCases(B: Backend<GpuTensor>, random: () => number): KernelCase[] {
  const shape = [10_368, 128];
  const P = shape[0] * shape[1] * 4;
  // Parameter and gradient signed; the squared-gradient averages (the last slot) non-negative.
  const slots = (k: number) => () => [randomTensor(B, shape, random), randomTensor(B, shape, random), ...Array.from({ length: k }, (_, i) => randomTensor(B, shape, random, i === k - 1 ? 0 : -1))];
  const rmsprop = ([p, g, acc]: GpuTensor[]) => {
    B.rmspropUpdate(p, g, acc, RMSPROP_DEFAULTS);
    return [];
  };
  const adam = ([p, g, m, v]: GpuTensor[]) => {
    B.adamUpdate(p, g, m, v, { ...ADAM_DEFAULTS, t: 3 });
    return [];
  };
  return [
    { op: 'rmspropUpdate', layer: 'dense1 kernel', batch: null, shapes: `param=${fmt(shape)}`, bytes: 5 * P, inputs: slots(1), run: rmsprop },
    { op: 'adamUpdate', layer: 'dense1 kernel', batch: null, shapes: `param=${fmt(shape)}`, bytes: 7 * P, inputs: slots(2), run: adam },
  ];
}

/** All cases for one batch size: the initial network's layers (the tuned one has the same GEMMs). */
function batchCases(B: Backend<GpuTensor>, N: number, random: () => number): KernelCase[] {
  return [
    ...convCases(B, 'conv1', N, 69, 3, 32, false, random),
    ...convCases(B, 'conv2', N, 35, 32, 64, true, random),
    ...convCases(B, 'conv3', N, 18, 64, 128, true, random),
    ...denseCases(B, 'dense1', N, 10_368, 128, random),
    ...denseCases(B, 'dense2', N, 128, 2, random),
    ...memoryCases(B, N, random),
  ];
}

/** Repetitions: at least 3, then until `budgetMs` of GPU time or 10 runs. */
const MIN_REPS = 3;
const MAX_REPS = 10;

async function timeCase(g: Engine, c: KernelCase, timer: GpuTimer, budgetMs: number): Promise<Spread> {
  return checked(g, `${c.op} ${c.shapes}`, async () => {
    const inputs = c.inputs();
    const once = () => timer.time(() => c.run(inputs).forEach((t) => t.dispose()));
    await once(); // compiles the pipelines (up to 0.7 s on lavapipe)
    const ms: number[] = [];
    while (ms.length < MIN_REPS || (ms.length < MAX_REPS && ms.reduce((a, b) => a + b, 0) < budgetMs)) ms.push(await once());
    inputs.forEach((t) => t.dispose());
    return spread(ms);
  });
}

/** GB/s of a 64 MiB buffer-to-buffer copy (bytes read plus bytes written). */
async function copyBandwidth(g: Engine, timer: GpuTimer, budgetMs: number): Promise<number> {
  const bytes = 64 * 2 ** 20;
  const a = g.empty([bytes / 4]);
  const b = g.empty([bytes / 4]);
  const run = () => {
    g.copy(a, 0, b, 0, bytes / 4);
    return [];
  };
  const c: KernelCase = { op: 'copy', layer: '', batch: null, shapes: '', inputs: () => [], run };
  const ms = await timeCase(g, c, timer, budgetMs);
  a.dispose();
  b.dispose();
  return (2 * bytes) / (ms.median * 1e6);
}

/** Times every case at each batch size and the 1024³ GEMM on engine `g` through its backend `B`; `onCase` reports progress. */
export async function measureKernels(g: Engine, B: Backend<GpuTensor>, batches: readonly number[], timer: GpuTimer, onCase: (f: KernelFigures) => void): Promise<KernelResults> {
  const random = mulberry32(12345);
  const budgetMs = 1000;
  const square: KernelCase = {
    op: 'denseForward', layer: 'square GEMM', batch: null, shapes: 'x=[1024,1024] w=[1024,1024]', gemm: { M: 1024, N: 1024, K: 1024 },
    inputs: () => [randomTensor(B, [1024, 1024], random), randomTensor(B, [1024, 1024], random), randomTensor(B, [1024], random)],
    run: ([x, w, b]) => [B.denseForward(x, w, b)],
  };
  const copy = await copyBandwidth(g, timer, budgetMs);
  const cases = [square, ...batches.flatMap((N) => batchCases(B, N, random)), ...optimizerCases(B, random)];
  const measured: { c: KernelCase; ms: Spread }[] = [];
  const failures: KernelFailure[] = [];
  for (const c of cases) {
    try {
      const ms = await timeCase(g, c, timer, budgetMs);
      measured.push({ c, ms });
      onCase(figures(c, ms, null, copy));
    } catch (e) {
      if (!(e instanceof GpuError)) throw e;
      failures.push({ op: c.op, layer: c.layer, batch: c.batch, shapes: c.shapes, error: e.message });
      console.warn(`  failed: ${e.message}`);
    }
  }
  const gemms = measured.filter((m) => m.c.gemm);
  const best = gemms.reduce((a, b) => (gflops(b.c, b.ms) > gflops(a.c, a.ms) ? b : a));
  const ceiling = gflops(best.c, best.ms);
  return {
    timing: timer.method,
    gemm_ceiling_gflop_per_s: ceiling,
    gemm_ceiling_how: `the best median GEMM figure of this run: ${best.c.op} ${best.c.layer}${best.c.batch ? ` batch ${best.c.batch}` : ''}`,
    copy_gb_per_s: copy,
    copy_how: 'copyBufferToBuffer of 64 MiB, bytes read + written over the median time',
    cases: measured.map(({ c, ms }) => figures(c, ms, ceiling, copy)),
    failures,
  };
}

const gflops = (c: KernelCase, ms: Spread): number => (c.gemm ? (2 * c.gemm.M * c.gemm.N * c.gemm.K) / (ms.median * 1e6) : 0);

/** A case's figures; `ceiling` is null while it is not known yet (progress lines). */
function figures(c: KernelCase, ms: Spread, ceiling: number | null, copy: number): KernelFigures {
  const gf = c.gemm ? gflops(c, ms) : null;
  const gb = c.bytes ? c.bytes / (ms.median * 1e6) : null;
  return {
    op: c.op,
    layer: c.layer,
    batch: c.batch,
    shapes: c.shapes,
    gemm: c.gemm ? `M=${c.gemm.M} N=${c.gemm.N} K=${c.gemm.K}` : null,
    ms,
    gflop_per_s: gf,
    gb_per_s: gb,
    of_ceiling: gf === null ? gb! / copy : ceiling === null ? null : gf / ceiling,
  };
}
