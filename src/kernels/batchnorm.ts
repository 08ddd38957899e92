// Batch normalisation on the GPU (shaders/batchnorm.wgsl): the per-channel
// sums of the batch statistics and of the gradient by a two-stage reduction
// in a fixed order (a step repeats bit for bit), the elementwise
// normalisation and input gradient, and the moving averages.
import { ceilDiv, dispatch1d, type Engine, type GpuTensor, type Program } from './engine.ts';
import { assertShapesMatch, batchNormDims } from './shapes.ts';

const SHADER = 'batchnorm.wgsl';
/** Invocations of a workgroup over x (at most: its lanes per slot are a power of two). */
const WG = 256;
/** Vec4s each stage-1 invocation adds at least: lavapipe's barriers are dear, so few workgroups, each of long lanes. */
const LANE_VEC4S = 128;
/** Chunks per channel at most: stage 2 adds them one by one. */
const MAX_CHUNKS = 1024;
/** The per-channel kernels: one invocation per channel. */
const CHANNEL_WG = 64;
/** Vec4s per invocation of forward and inputGradient: 32 runs about as fast as Leaky ReLU on lavapipe, 4 at half its speed. */
const VEC4S = 32;

/**
 * The shader's slots of C channels: the period P (vec4s), and a workgroup of
 * at most WG invocations over x, P's slots along x (up to WG of them) and a
 * power of two of lanes along y.
 */
function slots(channels: number): { period: number; workgroupSize: [number, number, number]; slotGroups: number } {
  const period = channels / (channels % 4 === 0 ? 4 : channels % 2 === 0 ? 2 : 1);
  const wx = Math.min(period, WG);
  return { period, workgroupSize: [wx, 2 ** Math.floor(Math.log2(WG / wx)), 1], slotGroups: ceilDiv(period, wx) };
}

/** Both stages of a reduction of x (n values) to one pair of sums per channel (the shader's Reduction). */
function reduction(n: number, channels: number, epsilon = 0) {
  const { period, workgroupSize, slotGroups } = slots(channels);
  const lanes = workgroupSize[1];
  // Stage 1 also reads x's last, partial vec4.
  const blocks = ceilDiv(ceilDiv(n, 4), period);
  const chunkBlocks = lanes * Math.max(LANE_VEC4S, ceilDiv(blocks, lanes * MAX_CHUNKS));
  const chunks = ceilDiv(blocks, chunkBlocks);
  const uniforms = [n, channels, period, chunkBlocks, chunks, { f32: epsilon }];
  const program = (entryPoint: string, size: Program['workgroupSize'], dispatch: Program['dispatch']): Program => ({ shader: SHADER, entryPoint, workgroupSize: size, dispatch, uniforms });
  return {
    partialsShape: [chunks, period, 2, 4],
    sums: (entryPoint: string) => program(entryPoint, workgroupSize, [chunks, slotGroups, 1]),
    final: (entryPoint: string) => program(entryPoint, [CHANNEL_WG, 1, 1], [ceilDiv(channels, CHANNEL_WG), 1, 1]),
  };
}

/** forward or inputGradient over x's whole vec4s, then `${entryPoint}Tail` over its last n mod 4 values. */
function overX(g: Engine, entryPoint: string, x: GpuTensor, channels: number, epsilon: number, buffers: GPUBuffer[]): void {
  const { period, workgroupSize, slotGroups } = slots(channels);
  const blocks = ceilDiv(Math.floor(x.size / 4), period);
  const main: Program = {
    shader: SHADER,
    entryPoint,
    workgroupSize,
    overrides: { VEC4S },
    dispatch: [slotGroups, ceilDiv(blocks, workgroupSize[1] * VEC4S), 1],
    uniforms: [x.size, channels, period, { f32: epsilon }, { f32: x.size / channels }],
  };
  g.run(main, buffers);
  if (x.size % 4 !== 0) g.run({ ...main, entryPoint: `${entryPoint}Tail`, workgroupSize: [4, 1, 1], dispatch: [1, 1, 1] }, buffers);
}

/** x N×H×W×C or N×C → per-channel mean and biased variance (divided by the count M). */
export function batchNormStatistics(g: Engine, x: GpuTensor): { mean: GpuTensor; variance: GpuTensor } {
  const { channels } = batchNormDims('batchNormStatistics', x, {});
  const r = reduction(x.size, channels);
  const partials = g.empty(r.partialsShape);
  const firstMean = g.empty([channels]);
  const mean = g.empty([channels]);
  const variance = g.empty([channels]);
  // x's first C values, its first row, centre the first pass; the second
  // pass's variance overwrites the first's.
  g.run(r.sums('centredSums'), [x.buffer, x.buffer, partials.buffer]);
  g.run(r.final('statisticsFinal'), [partials.buffer, x.buffer, firstMean.buffer, variance.buffer]);
  g.run(r.sums('centredSums'), [x.buffer, firstMean.buffer, partials.buffer]);
  g.run(r.final('statisticsFinal'), [partials.buffer, firstMean.buffer, mean.buffer, variance.buffer]);
  partials.dispose();
  firstMean.dispose();
  return { mean, variance };
}

/** y = gamma·(x − mean)/√(variance + epsilon) + beta, per channel (the last axis). */
export function batchNormForward(g: Engine, x: GpuTensor, mean: GpuTensor, variance: GpuTensor, gamma: GpuTensor, beta: GpuTensor, epsilon: number): GpuTensor {
  const { channels } = batchNormDims('batchNormForward', x, { mean, variance, gamma, beta });
  const y = g.empty(x.shape);
  overX(g, 'forward', x, channels, epsilon, [x, mean, variance, beta, gamma, y].map((t) => t.buffer));
  return y;
}

/** The gradient through batchNormForward with x's own batch statistics: dx, dgamma = Σ dy·x̂, dbeta = Σ dy. */
export function batchNormBackward(
  g: Engine,
  x: GpuTensor,
  dy: GpuTensor,
  mean: GpuTensor,
  variance: GpuTensor,
  gamma: GpuTensor,
  epsilon: number,
): { dx: GpuTensor; dgamma: GpuTensor; dbeta: GpuTensor } {
  const { channels } = batchNormDims('batchNormBackward', x, { mean, variance, gamma });
  assertShapesMatch('batchNormBackward', ['x', x], ['dy', dy]);
  const r = reduction(x.size, channels, epsilon);
  const partials = g.empty(r.partialsShape);
  const dgamma = g.empty([channels]);
  const dbeta = g.empty([channels]);
  g.run(r.sums('gradientSums'), [x.buffer, mean.buffer, partials.buffer, dy.buffer]);
  g.run(r.final('gradientFinal'), [partials.buffer, variance.buffer, dgamma.buffer, dbeta.buffer]);
  partials.dispose();
  const dx = g.empty(x.shape);
  overX(g, 'inputGradient', x, channels, epsilon, [x, mean, variance, dy, gamma, dgamma, dbeta, dx].map((t) => t.buffer));
  return { dx, dgamma, dbeta };
}

/** In place: moving = momentum·moving + (1 − momentum)·scale·value. */
export function movingAverageUpdate(g: Engine, moving: GpuTensor, value: GpuTensor, momentum: number, scale: number): void {
  assertShapesMatch('movingAverageUpdate', ['moving', moving], ['value', value]);
  g.run(
    {
      shader: SHADER,
      entryPoint: 'movingAverage',
      workgroupSize: [CHANNEL_WG, 1, 1],
      dispatch: dispatch1d(moving.size, CHANNEL_WG),
      uniforms: [moving.size, { f32: momentum }, { f32: (1 - momentum) * scale }],
    },
    [moving.buffer, value.buffer],
  );
}
