// The GPU training and inference loops. A training step is one submit with no
// readback inside it: each step copies its batch's probabilities into an
// epoch-long GPU buffer, and the host reads that buffer in slices every few
// steps (for the progress bar) and at the end of the epoch (for the loss and
// accuracy, computed from the probabilities exactly as Keras defines them).
import { gpuBackend } from '../kernels/gpu-backend.ts';
import { gpu, type GpuTensor } from '../kernels/runtime.ts';
import { mulberry32 } from '../nn/init.ts';
import type { Optimizer } from '../nn/optimizers.ts';
import type { Sequential } from '../nn/sequential.ts';
import { Tape } from '../nn/tape.ts';
import { trainStep } from '../nn/train-step.ts';

/** Where batches come from: samples stay compact on the host and are converted per batch. */
export interface BatchSource {
  /** Number of samples. */
  readonly count: number;
  /** Model outputs: 1 for a sigmoid head, else the number of classes. */
  readonly classes: number;
  /** Class index of each sample, under the run's label scheme. */
  readonly labels: Int32Array;
  /**
   * Writes samples `indices` into x (B×H×W×C float32) and their targets into
   * `targets` (B×classes one-hot, or B×1 for a sigmoid head). `augmentSeed`,
   * when given, seeds random flips and rotations for this batch.
   */
  fill(indices: ArrayLike<number>, x: Float32Array, targets: Float32Array, augmentSeed?: number): void;
}

/** Summed loss and correct answers of a block of predictions. */
export interface Tally {
  loss: number;
  correct: number;
  count: number;
}

const EPS = 1e-7;

/**
 * Adds predictions `probs` (rows of `width`: 1 = sigmoid) for the samples with
 * class indices `labels` to a tally: the clipped cross-entropy Keras reports,
 * and accuracy by arg-max (or p ≥ 0.5 for a sigmoid).
 */
export function tally(t: Tally, probs: ArrayLike<number>, labels: ArrayLike<number>, width: number): void {
  const clip = (p: number) => Math.min(Math.max(p, EPS), 1 - EPS);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (width === 1) {
      const p = probs[i];
      t.loss -= y === 1 ? Math.log(clip(p)) : Math.log(1 - clip(p));
      t.correct += Number((p >= 0.5 ? 1 : 0) === y);
    } else {
      let best = 0;
      for (let c = 1; c < width; c++) if (probs[i * width + c] > probs[i * width + best]) best = c;
      t.loss -= Math.log(clip(probs[i * width + y]));
      t.correct += Number(best === y);
    }
    t.count++;
  }
}

/** The samples' order in epoch `epoch`: a permutation fixed by (seed, epoch), so `--resume` replays it. */
export function epochOrder(count: number, seed: number, epoch: number): Uint32Array {
  const random = mulberry32((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** How many batches run between two readbacks of the probabilities (and two waits). */
const READ_EVERY = 8;

/** Host-side staging for one batch: reused every step. */
class Staging {
  private x = new Float32Array(0);
  private y = new Float32Array(0);
  constructor(
    private readonly source: BatchSource,
    private readonly imageSize: number,
  ) {}
  /** Uploads the batch of `indices` as fresh pooled tensors (released with the step's tape). */
  upload(tape: Tape<GpuTensor>, indices: ArrayLike<number>, inputShape: readonly number[], augmentSeed?: number): { x: GpuTensor; targets: GpuTensor } {
    const n = indices.length;
    if (this.x.length < n * this.imageSize) {
      this.x = new Float32Array(n * this.imageSize);
      this.y = new Float32Array(n * this.source.classes);
    }
    const x = this.x.subarray(0, n * this.imageSize);
    const y = this.y.subarray(0, n * this.source.classes);
    y.fill(0);
    this.source.fill(indices, x, y, augmentSeed);
    return {
      x: tape.keep(gpuBackend.fromArray(x, [n, ...inputShape])),
      targets: tape.keep(gpuBackend.fromArray(y, [n, this.source.classes])),
    };
  }
}

export interface EpochProgress {
  /** Samples done so far in this pass. */
  done: number;
  /** Running mean loss and accuracy over the samples read back so far. */
  loss: number;
  accuracy: number;
}

/**
 * One epoch of training over `source` in `order`; returns the epoch's mean
 * loss and accuracy (of the predictions made before each update, as Keras).
 */
export async function trainEpoch(
  model: Sequential<GpuTensor>,
  optimizer: Optimizer<GpuTensor>,
  source: BatchSource,
  order: Uint32Array,
  batchSize: number,
  opts: { augmentSeed?: number; onProgress?: (p: EpochProgress) => void } = {},
): Promise<Tally> {
  const g = gpu();
  const width = model.classes;
  const inputShape = model.spec.inputShape;
  const staging = new Staging(source, inputShape[0] * inputShape[1] * inputShape[2]);
  const all = g.empty([order.length, width]);
  const t: Tally = { loss: 0, correct: 0, count: 0 };
  const tape = new Tape(gpuBackend);
  let readFrom = 0;
  const readBack = async (upTo: number) => {
    const probs = await g.readRange(all, readFrom * width, (upTo - readFrom) * width);
    tally(t, probs, Array.from(order.subarray(readFrom, upTo), (i) => source.labels[i]), width);
    readFrom = upTo;
    opts.onProgress?.({ done: upTo, loss: t.loss / t.count, accuracy: t.correct / t.count });
  };
  for (let start = 0, batch = 0; start < order.length; start += batchSize, batch++) {
    const indices = order.subarray(start, Math.min(start + batchSize, order.length));
    // Keras's step counter, 1-based; it also picks the dropout masks.
    const step = optimizer.iterations + 1;
    const augmentSeed = opts.augmentSeed === undefined ? undefined : (opts.augmentSeed ^ Math.imul(step, 0x85ebca6b)) >>> 0;
    const { x, targets } = staging.upload(tape, indices, inputShape, augmentSeed);
    const probs = trainStep(tape, model, optimizer, x, targets, step);
    g.copy(probs.buffer, 0, all.buffer, start * width * 4, indices.length * width * 4);
    tape.reset(model.parameters());
    g.submit();
    if ((batch + 1) % READ_EVERY === 0) await readBack(start + indices.length);
  }
  if (readFrom < order.length) await readBack(order.length);
  all.dispose();
  g.submit();
  return t;
}

/**
 * Inference over samples `indices` of `source` (all of them by default):
 * returns the probabilities, N×classes, read back once at the end.
 */
export async function predictAll(
  model: Sequential<GpuTensor>,
  source: BatchSource,
  batchSize: number,
  opts: { indices?: Uint32Array; onProgress?: (done: number) => void } = {},
): Promise<Float32Array> {
  const g = gpu();
  const indices = opts.indices ?? Uint32Array.from({ length: source.count }, (_, i) => i);
  // Inference batches are a throughput choice: cap them so that every activation fits one binding.
  batchSize = Math.max(1, Math.min(batchSize, Math.floor(g.maxTensorBytes / (4 * model.largestActivation()))));
  const width = model.classes;
  const inputShape = model.spec.inputShape;
  const staging = new Staging(source, inputShape[0] * inputShape[1] * inputShape[2]);
  const all = g.empty([indices.length, width]);
  const tape = new Tape(gpuBackend);
  for (let start = 0, batch = 0; start < indices.length; start += batchSize, batch++) {
    const part = indices.subarray(start, Math.min(start + batchSize, indices.length));
    const { x } = staging.upload(tape, part, inputShape);
    const probs = tape.keep(model.predict(x));
    g.copy(probs.buffer, 0, all.buffer, start * width * 4, part.length * width * 4);
    tape.reset();
    g.submit();
    if ((batch + 1) % READ_EVERY === 0) {
      await g.device.queue.onSubmittedWorkDone();
      opts.onProgress?.(start + part.length);
    }
  }
  const out = await g.read(all);
  all.dispose();
  g.submit();
  opts.onProgress?.(indices.length);
  return out;
}
