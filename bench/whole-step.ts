// Whole-step figures, measured through the same loops users run: trainEpoch
// (one submit per step, probabilities read back every 8 steps) and predictAll,
// fed by the real batch source (uint8 cutouts converted to float32 per batch,
// or braai's float32 input).
// Repetitions are epochs, so the same run shows the speed, its spread, and
// whether GPU memory grows from one epoch to the next.
import { valuesPerSample, type Dataset } from '../src/data/dataset.ts';
import { mulberry32 } from '../src/nn/init.ts';
import type { Backend } from '../src/kernels/backend.ts';
import type { Engine, GpuTensor } from '../src/kernels/engine.ts';
import { modelSpec, type ModelName } from '../src/nn/models.ts';
import { makeOptimizer } from '../src/nn/optimizers.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { paperProtocol } from '../src/train/config.ts';
import { epochOrder, predictAll, trainEpoch } from '../src/train/fit.ts';
import { batchSource } from '../src/train/source.ts';
import { checked, GpuError, spread } from './timing.ts';

/** The paper's training split (REFERENCE.md): the size of one epoch. */
export const EPOCH_IMAGES = 11_436;
/** Distinct random cutouts behind a benchmark's samples; samples cycle through them. */
const DISTINCT_IMAGES = 512;

/** How much work each figure repeats, by adapter speed and mode. */
export interface Plan {
  /** Images per timed training epoch, by network. */
  trainImages: Record<ModelName, number>;
  /** Timed epochs (after one warm-up epoch). */
  epochs: number;
  /** Images per inference pass, and timed passes (after one warm-up pass). */
  inferImages: number;
  passes: number;
}

/**
 * A software adapter (lavapipe: a training step takes seconds) times one or
 * two steps per epoch and extrapolates the full epoch; a real GPU trains on
 * full epochs of 11,436 images. Full runs repeat ten epochs (the issue's
 * memory check), quick ones three.
 */
export function plan(software: boolean, quick: boolean): Plan {
  const epochs = quick ? 3 : 10;
  if (software) return { trainImages: { initial: 2 * 64, tuned: 128, braai: 4 * 64 }, epochs, inferImages: 2 * 256, passes: quick ? 3 : 5 };
  return { trainImages: { initial: EPOCH_IMAGES, tuned: EPOCH_IMAGES, braai: EPOCH_IMAGES }, epochs, inferImages: EPOCH_IMAGES, passes: quick ? 3 : 10 };
}

/**
 * `count` samples (binary labels) for `model`, cycling through random
 * cutouts of its input shape: uint8 for the paper's networks (scaled per
 * batch, as sdss.hdf5 is), float32 for braai (preprocessed when read, as
 * alert packets are).
 */
function randomSamples(model: Sequential<GpuTensor>, count: number, seed: number) {
  const random = mulberry32(seed);
  const distinct = Math.min(count, DISTINCT_IMAGES);
  const shape = model.spec.inputShape;
  const values = distinct * valuesPerSample(shape);
  const float = model.head === 'sigmoid';
  const images = float ? Float32Array.from({ length: values }, () => random() / 64) : Uint8Array.from({ length: values }, () => Math.floor(random() * 256));
  const labels = Uint8Array.from({ length: distinct }, () => (random() < 0.5 ? 0 : 1));
  const ids = Array.from({ length: distinct }, (_, i) => String(i));
  const dataset: Dataset = { shape, images, preprocess: float ? 'braai' : 'scale255', labels, scheme: 'binary', ids, source: 'random cutouts' };
  return batchSource(dataset, 'binary', Int32Array.from({ length: count }, (_, i) => i % distinct), model.classes);
}

/** The pool's counters after an epoch, with the host's memory beside them. */
export interface MemorySnapshot {
  buffers: number;
  bytes_allocated: number;
  host_rss_bytes: number;
}

function snapshot(g: Engine): MemorySnapshot {
  const counts = g.counts();
  return { buffers: counts.buffers, bytes_allocated: counts.bytesAllocated, host_rss_bytes: process.memoryUsage().rss };
}

/** True when every epoch after the first ends with the first one's GPU buffers and bytes. */
function stable(after: readonly MemorySnapshot[]): boolean {
  return after.every((a) => a.buffers === after[0].buffers && a.bytes_allocated === after[0].bytes_allocated);
}

export interface TrainFigures {
  model: ModelName;
  optimizer: string;
  batch: number;
  /** Median over epochs, then the spread. */
  images_per_s: number;
  images_per_s_min: number;
  images_per_s_max: number;
  step_ms: number;
  images_per_epoch: number;
  epochs: number;
  /** The warm-up epoch, shader compilation included. */
  first_epoch_s: number;
  /** One epoch of the paper's 11,436 training images. */
  epoch_11436_s: number;
  epoch_11436_method: 'measured' | 'extrapolated from the timed steps';
  /** Peak bytes the pool held for this network: parameters, optimizer state, activations, gradients, the batch. */
  peak_gpu_bytes: number;
  parameter_bytes: number;
  /** Counters after each timed epoch. */
  memory: MemorySnapshot[];
  gpu_memory_stable: boolean;
}

/** Trains `name` with the paper's optimizer at `batch` for 1 + plan.epochs epochs, on engine `g` through its backend `B`. */
export async function measureTraining(g: Engine, B: Backend<GpuTensor>, name: ModelName, batch: number, p: Plan, seed = 1): Promise<TrainFigures> {
  await g.sync();
  const baseline = g.pool.numBytesInUse;
  // The pool's peak is a high-water mark since the process began: restart it here, for this network.
  g.pool.peakBytesInUse = baseline;
  const model = Sequential.build(modelSpec(name), B, seed);
  const protocol = paperProtocol(name);
  const optimizer = makeOptimizer(protocol.optimizer, B, model.parameters(), protocol.lr);
  const images = p.trainImages[name];
  const source = randomSamples(model, images, seed);
  const epoch = (e: number) =>
    checked(g, `training the ${name} net at batch ${batch}`, async () => {
      const t0 = performance.now();
      await trainEpoch(model, optimizer, source, epochOrder(images, seed, e), batch);
      await g.sync();
      return (performance.now() - t0) / 1000;
    });
  const first = await epoch(0);
  const seconds: number[] = [];
  const memory: MemorySnapshot[] = [];
  for (let e = 1; e <= p.epochs; e++) {
    seconds.push(await epoch(e));
    memory.push(snapshot(g));
  }
  const rate = spread(seconds.map((s) => images / s));
  const epochSeconds = spread(seconds).median;
  const measuredEpoch = images === EPOCH_IMAGES;
  return {
    model: name,
    optimizer: protocol.optimizer,
    batch,
    images_per_s: rate.median,
    images_per_s_min: rate.min,
    images_per_s_max: rate.max,
    step_ms: (epochSeconds / Math.ceil(images / batch)) * 1000,
    images_per_epoch: images,
    epochs: p.epochs,
    first_epoch_s: first,
    epoch_11436_s: measuredEpoch ? epochSeconds : EPOCH_IMAGES / rate.median,
    epoch_11436_method: measuredEpoch ? 'measured' : 'extrapolated from the timed steps',
    peak_gpu_bytes: g.pool.peakBytesInUse - baseline,
    parameter_bytes: model.paramCount() * 4,
    memory,
    gpu_memory_stable: stable(memory),
  };
}

export interface InferFigures {
  model: ModelName;
  batch: number;
  images_per_s: number;
  images_per_s_min: number;
  images_per_s_max: number;
  images_per_pass: number;
  passes: number;
  /** Images per dispatch: predictAll caps the batch so that every activation fits one storage binding. */
  effective_batch: number;
  gpu_memory_stable: boolean;
  /** Set when the asked batch failed on this adapter and `batch` is half of it. */
  failed_batch?: { batch: number; error: string };
}

/** predictAll over plan.inferImages images, 1 + plan.passes times, on engine `g` through its backend `B`. */
export async function measureInference(g: Engine, B: Backend<GpuTensor>, name: ModelName, batch: number, p: Plan, seed = 1): Promise<InferFigures> {
  const model = Sequential.build(modelSpec(name), B, seed);
  const source = randomSamples(model, p.inferImages, seed);
  const pass = () =>
    checked(g, `inference with the ${name} net at batch ${batch}`, async () => {
      await g.sync();
      const t0 = performance.now();
      await predictAll(model, source, { batchSize: batch });
      return (performance.now() - t0) / 1000;
    });
  await pass();
  const seconds: number[] = [];
  const memory: MemorySnapshot[] = [];
  for (let i = 0; i < p.passes; i++) {
    seconds.push(await pass());
    memory.push(snapshot(g));
  }
  const rate = spread(seconds.map((s) => p.inferImages / s));
  return {
    model: name,
    batch,
    images_per_s: rate.median,
    images_per_s_min: rate.min,
    images_per_s_max: rate.max,
    images_per_pass: p.inferImages,
    passes: p.passes,
    // The cap predictAll applies (src/train/fit.ts), asked of the same backend to report it.
    effective_batch: model.backend.inferenceBatch(model.largestActivation(), batch),
    gpu_memory_stable: stable(memory),
  };
}

/**
 * Inference at `batch`, or, where the device rejects that batch (a tensor over
 * its storage-binding limit), at half of it, saying why: a figure at another
 * batch, labelled, tells more than none.
 */
export async function measureInferenceOrHalf(g: Engine, B: Backend<GpuTensor>, name: ModelName, batch: number, p: Plan): Promise<InferFigures> {
  try {
    return await measureInference(g, B, name, batch, p);
  } catch (e) {
    if (!(e instanceof GpuError)) throw e;
    console.warn(`${e.message}\n  measuring batch ${batch / 2} instead`);
    return { ...(await measureInference(g, B, name, batch / 2, p)), failed_batch: { batch, error: e.message } };
  }
}

/** A whole-step figure the device rejected. */
export interface Failed {
  model: string;
  batch: number;
  failed: string;
}

export const isFailed = (x: object): x is Failed => 'failed' in x;

/** The figures, or what the device rejected: one failed network must not cost the others' figures. */
export async function orFailed<T>(model: ModelName, batch: number, measure: () => Promise<T>): Promise<T | Failed> {
  try {
    return await measure();
  } catch (e) {
    if (!(e instanceof GpuError)) throw e;
    console.warn(`failed: ${e.message}`);
    return { model, batch, failed: e.message };
  }
}
