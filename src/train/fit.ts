// The training and inference loops, on any backend (the model's). A training
// step is one submit with no readback inside it: each step copies its batch's
// probabilities into an epoch-long buffer, and the host reads that buffer in
// slices every few steps (for the progress bar) and at the end of the epoch
// (for the loss and accuracy, computed from the probabilities exactly as
// Keras defines them, and for the sign of a run gone dead).
import type { LossName, Tensor } from '../kernels/backend.ts';
import { atClip, crossEntropySum } from '../kernels/cross-entropy.ref.ts';
import { mulberry32 } from '../nn/init.ts';
import type { Optimizer } from '../nn/optimizers.ts';
import { DEFAULT_LOSS, type Model } from '../nn/model.ts';
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

/**
 * Adds predictions `probs` (rows of `width`: 1 = sigmoid) for the samples with
 * class indices `labels` to a tally: the cross-entropy `loss` reports (the
 * model's; the default for a file without one), and accuracy by arg-max (or
 * p ≥ 0.5 for a sigmoid). With `classWeights` each sample's loss term is
 * weighted by its class's weight, as Keras reports a class-weighted training
 * loss; accuracy stays unweighted, as Keras's metrics do.
 */
export function tally(t: Tally, probs: ArrayLike<number>, labels: ArrayLike<number>, width: number, loss: LossName = DEFAULT_LOSS, classWeights?: ArrayLike<number>): void {
  const targets = new Float64Array(probs.length);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (width === 1) {
      targets[i] = y;
      t.correct += Number((probs[i] >= 0.5 ? 1 : 0) === y);
    } else {
      targets[i * width + y] = 1;
      let best = 0;
      for (let c = 1; c < width; c++) if (probs[i * width + c] > probs[i * width + best]) best = c;
      t.correct += Number(best === y);
    }
  }
  t.loss += crossEntropySum(probs, targets, width, loss, classWeights && Array.from(labels, (y) => classWeights[y]));
  t.count += labels.length;
}

/** A training epoch's tally, with what tells a dead run. */
export interface EpochTally extends Tally {
  /** Samples whose true class's probability sat at Keras 2.2's clip (for a sigmoid: whose p did). */
  atClip: number;
}

/**
 * Whether an epoch trained nothing: under Keras 2.2's clipped loss, every
 * sample's true-class probability sat at the clip, so every gradient of the
 * epoch was exactly zero and the weights stayed put (RMSprop moves nothing on
 * a zero gradient; Adam only coasts on momentum that decays); and some answers
 * were wrong, so it is stuck rather than fitted. From the logits a wrong answer
 * always has a gradient, so that loss cannot go dead this way.
 */
export function wentDead(t: EpochTally, loss: LossName): boolean {
  return loss === 'keras2-clipped' && t.atClip === t.count && t.correct < t.count;
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

/** Each sample's class weight, repeated over its row of `width` logits (trainStep's `weights`). */
function rowWeights(classWeights: ArrayLike<number>, labels: Int32Array, indices: ArrayLike<number>, width: number): Float32Array {
  const w = new Float32Array(indices.length * width);
  for (let i = 0; i < indices.length; i++) w.fill(classWeights[labels[indices[i]]], i * width, (i + 1) * width);
  return w;
}

/** How many batches run between two readbacks of the probabilities (and two waits). */
const READ_EVERY = 8;

/** Host-side staging for one batch: reused every step. */
class Staging<T extends Tensor> {
  private x = new Float32Array(0);
  private y = new Float32Array(0);
  constructor(
    private readonly source: BatchSource,
    private readonly imageSize: number,
  ) {}
  /** Uploads the batch of `indices` as fresh pooled tensors (released with the step's tape). */
  upload(tape: Tape<T>, indices: ArrayLike<number>, inputShape: readonly number[], augmentSeed?: number): { x: T; targets: T } {
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
      x: tape.keep(tape.backend.fromArray(x, [n, ...inputShape])),
      targets: tape.keep(tape.backend.fromArray(y, [n, this.source.classes])),
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
 * One epoch of training over `source` in `order`; returns the epoch's tally
 * (of the predictions made before each update, as Keras) under the model's
 * loss, with the count wentDead reads.
 */
export async function trainEpoch<T extends Tensor>(
  model: Model<T>,
  optimizer: Optimizer<T>,
  source: BatchSource,
  order: Uint32Array,
  batchSize: number,
  opts: { augmentSeed?: number; classWeights?: ArrayLike<number>; onProgress?: (p: EpochProgress) => void } = {},
): Promise<EpochTally> {
  const b = model.backend;
  const width = model.classes;
  const inputShape = model.inputShape;
  const staging = new Staging<T>(source, inputShape[0] * inputShape[1] * inputShape[2]);
  const all = b.empty([order.length, width]);
  const t: EpochTally = { loss: 0, correct: 0, count: 0, atClip: 0 };
  const tape = new Tape(b);
  let readFrom = 0;
  const readBack = async (upTo: number) => {
    const probs = await b.readRange(all, readFrom * width, (upTo - readFrom) * width);
    const labels = Array.from(order.subarray(readFrom, upTo), (i) => source.labels[i]);
    tally(t, probs, labels, width, model.lossName, opts.classWeights);
    labels.forEach((y, i) => (t.atClip += Number(atClip(width === 1 ? probs[i] : probs[i * width + y]))));
    readFrom = upTo;
    opts.onProgress?.({ done: upTo, loss: t.loss / t.count, accuracy: t.correct / t.count });
  };
  for (let start = 0, batch = 0; start < order.length; start += batchSize, batch++) {
    const indices = order.subarray(start, Math.min(start + batchSize, order.length));
    // Keras's step counter, 1-based; it also picks the dropout masks.
    const step = optimizer.iterations + 1;
    const augmentSeed = opts.augmentSeed === undefined ? undefined : (opts.augmentSeed ^ Math.imul(step, 0x85ebca6b)) >>> 0;
    const { x, targets } = staging.upload(tape, indices, inputShape, augmentSeed);
    const weights = opts.classWeights && tape.keep(b.fromArray(rowWeights(opts.classWeights, source.labels, indices, width), [indices.length, width]));
    const probs = trainStep(tape, model, optimizer, x, targets, step, weights);
    b.copy(probs, 0, all, start * width, indices.length * width);
    tape.reset(model.parameters());
    b.flush();
    if ((batch + 1) % READ_EVERY === 0) await readBack(start + indices.length);
  }
  if (readFrom < order.length) await readBack(order.length);
  b.dispose(all);
  b.flush();
  return t;
}

/**
 * Inference over samples `indices` of `source` (all of them by default):
 * returns the probabilities, N×classes, read back once at the end.
 */
export async function predictAll<T extends Tensor>(
  model: Model<T>,
  source: BatchSource,
  opts: { indices?: Uint32Array; batchSize?: number; onProgress?: (done: number) => void } = {},
): Promise<Float32Array> {
  const b = model.backend;
  const indices = opts.indices ?? Uint32Array.from({ length: source.count }, (_, i) => i);
  const batchSize = b.inferenceBatch(model.largestActivation(), opts.batchSize);
  const width = model.classes;
  const inputShape = model.inputShape;
  const staging = new Staging<T>(source, inputShape[0] * inputShape[1] * inputShape[2]);
  const all = b.empty([indices.length, width]);
  const tape = new Tape(b);
  for (let start = 0, batch = 0; start < indices.length; start += batchSize, batch++) {
    const part = indices.subarray(start, Math.min(start + batchSize, indices.length));
    const { x } = staging.upload(tape, part, inputShape);
    const probs = tape.keep(model.predict(x));
    b.copy(probs, 0, all, start * width, part.length * width);
    tape.reset();
    b.flush();
    if ((batch + 1) % READ_EVERY === 0) {
      await b.sync();
      opts.onProgress?.(start + part.length);
    }
  }
  const out = Float32Array.from(await b.toArray(all));
  b.dispose(all);
  b.flush();
  opts.onProgress?.(indices.length);
  return out;
}
