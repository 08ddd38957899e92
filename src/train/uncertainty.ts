// How unsure the network is of each cutout, for ordering candidates by it
// (the scanning page, `predict --tta` and `predict --mc-dropout`):
// - dihedral test-time augmentation: each cutout under the symmetries of the
//   square (src/data/augment.ts; the four that keep the shape of a non-square
//   one). The sky has no preferred orientation, so a sound score is the same
//   under all of them, and their spread says how much it rests on one.
// - MC-dropout (Gal & Ghahramani 2016): passes with dropout active and batch
//   normalisation on its moving statistics, each pass drawing new masks; the
//   spread of the passes and the BALD mutual information (Houlsby et al. 2011)
//   H(mean p) − mean H(p): the part of the entropy the weights' uncertainty
//   causes, 0 when every pass agrees.
// Both return every copy's probabilities, which copyStatistics summarises,
// so that a caller can calibrate them first (predict's temperature).
// Platform-free: any backend, no Node built-in.
import { SHAPE_KEEPING_TRANSFORMS, TRANSFORM_COUNT } from '../data/augment.ts';
import { fillImages, sampleCount, valuesPerSample, type Dataset, type SampleShape } from '../data/dataset.ts';
import { predictedClass } from '../data/labels.ts';
import type { Tensor } from '../kernels/backend.ts';
import { InputError } from '../errors.ts';
import { Dropout } from '../nn/layers.ts';
import type { Model } from '../nn/model.ts';
import { Tape, Variable } from '../nn/tape.ts';
import { predictAll, type BatchSource } from './fit.ts';

/** Each sample's probabilities under several copies (transforms of its input, or dropout passes). */
export interface Copies {
  /** N × copies × width, sample-major: sample i's copy c at (i·copies + c)·width. */
  probs: Float32Array;
  copies: number;
  /** The model's outputs: 1 for a sigmoid head (p_real), else the classes. */
  width: number;
}

export interface InferenceOptions {
  /** The samples to score, in this order [all of them]. */
  indices?: Uint32Array;
  /** Images per batch, capped by the engine (Backend.inferenceBatch) [the engine's default]. */
  batchSize?: number;
  /** Images scored so far, of samples × copies. */
  onProgress?: (done: number) => void;
}

const allSamples = (dataset: Dataset) => Uint32Array.from({ length: sampleCount(dataset) }, (_, i) => i);

/** The transforms test-time augmentation applies to cutouts of `shape`: all eight for square ones, else the four that keep the shape. */
export function dihedralTransforms([height, width]: SampleShape): readonly number[] {
  return height === width ? Array.from({ length: TRANSFORM_COUNT }, (_, k) => k) : SHAPE_KEEPING_TRANSFORMS;
}

/** The model's probabilities for each sample under each of dihedralTransforms (copy c is transform `transforms[c]`; copy 0 the cutout as it is). */
export async function dihedralCopies<T extends Tensor>(model: Model<T>, dataset: Dataset, opts: InferenceOptions = {}): Promise<Copies & { transforms: readonly number[] }> {
  const indices = opts.indices ?? allSamples(dataset);
  const transforms = dihedralTransforms(dataset.shape);
  const copies = transforms.length;
  const count = indices.length * copies;
  // Item j is sample indices[j / copies] under transform j mod copies: predictAll's batches run over the items.
  const source: BatchSource = {
    count,
    classes: model.classes,
    labels: new Int32Array(count),
    fill: (items, x) => {
      const samples = Uint32Array.from(items, (j) => indices[Math.floor(j / copies)]);
      fillImages(dataset, samples, x, Uint8Array.from(items, (j) => transforms[j % copies]));
    },
  };
  const probs = await predictAll(model, source, { batchSize: opts.batchSize, onProgress: opts.onProgress });
  return { probs, copies, width: model.classes, transforms };
}

export const hasDropout = <T extends Tensor>(model: Model<T>): boolean => model.layers.some((l) => l instanceof Dropout);

/**
 * `passes` forward passes per sample with dropout active and batch
 * normalisation on its moving statistics (which stay as they are). Pass p of
 * batch b draws its masks at step base(seed) + b·passes + p, so that no two
 * passes share masks and a seed repeats them exactly; a mask covers the
 * batch's tensor, so the numbers also depend on the batch size.
 */
export async function mcDropoutCopies<T extends Tensor>(model: Model<T>, dataset: Dataset, passes: number, seed: number, opts: InferenceOptions = {}): Promise<Copies> {
  if (!hasDropout(model)) throw new InputError('MC-dropout needs a network with a dropout layer, and this one has none');
  if (!(Number.isInteger(passes) && passes >= 2)) throw new RangeError(`MC-dropout: ${passes} passes; a spread needs a whole number of at least 2`);
  const b = model.backend;
  const indices = opts.indices ?? allSamples(dataset);
  const n = indices.length;
  const width = model.classes;
  const values = valuesPerSample(dataset.shape);
  const batchSize = b.inferenceBatch(model.largestActivation(), opts.batchSize);
  const staging = new Float32Array(Math.min(batchSize, n) * values);
  // Pass-major on the device (one copy per pass and batch), sample-major once read.
  const all = b.empty([passes * n, width]);
  const base = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
  const tape = new Tape(b);
  for (let start = 0, batch = 0; start < n; start += batchSize, batch++) {
    const part = indices.subarray(start, Math.min(start + batchSize, n));
    fillImages(dataset, part, staging);
    const x = b.fromArray(staging.subarray(0, part.length * values), [part.length, ...model.inputShape]);
    for (let p = 0; p < passes; p++) {
      const logits = model.forward(tape, new Variable(x, false), { training: false, dropout: true, step: (base + batch * passes + p) >>> 0 });
      const probs = tape.keep(model.head === 'softmax' ? b.softmax(logits.value) : b.sigmoid(logits.value));
      b.copy(probs, 0, all, (p * n + start) * width, part.length * width);
      tape.reset();
      b.flush();
    }
    b.dispose(x);
    await b.sync();
    opts.onProgress?.((start + part.length) * passes);
  }
  const byPass = await b.toArray(all);
  b.dispose(all);
  b.flush();
  const probs = new Float32Array(n * passes * width);
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < n; i++) probs.set(byPass.subarray((p * n + i) * width, (p * n + i + 1) * width), (i * passes + p) * width);
  }
  return { probs, copies: passes, width };
}

/** What the copies of each sample say together. */
export interface CopyStatistics {
  /** N × width: the mean probabilities. */
  mean: Float32Array;
  /** N: the standard deviation over the copies (divided by their number) of p_real for a sigmoid, else of the mean's top class's probability. */
  std: Float32Array;
  /** N: BALD, H(mean p) − mean H(p) in nats (binary entropy for a sigmoid), ≥ 0. */
  bald: Float32Array;
}

/** Entropy in nats of the distribution at probs[at..at+width]: a sigmoid's one unit is p of two outcomes. */
function entropy(probs: ArrayLike<number>, at: number, width: number): number {
  const h = (p: number) => (p > 0 ? -p * Math.log(p) : 0);
  if (width === 1) return h(probs[at]) + h(1 - probs[at]);
  let sum = 0;
  for (let k = 0; k < width; k++) sum += h(probs[at + k]);
  return sum;
}

export function copyStatistics({ probs, copies, width }: Copies): CopyStatistics {
  const n = probs.length / (copies * width);
  const mean = new Float32Array(n * width);
  const std = new Float32Array(n);
  const bald = new Float32Array(n);
  const m = new Float64Array(width);
  for (let i = 0; i < n; i++) {
    const row = i * copies * width;
    m.fill(0);
    for (let c = 0; c < copies; c++) for (let k = 0; k < width; k++) m[k] += probs[row + c * width + k];
    for (let k = 0; k < width; k++) m[k] /= copies;
    const top = width === 1 ? 0 : predictedClass(m);
    const hMean = entropy(m, 0, width);
    let squares = 0;
    let information = 0;
    for (let c = 0; c < copies; c++) {
      squares += (probs[row + c * width + top] - m[top]) ** 2;
      // Term by term, so that copies that all agree give exactly 0.
      information += hMean - entropy(probs, row + c * width, width);
    }
    mean.set(m, i * width);
    std[i] = Math.sqrt(squares / copies);
    // Jensen's inequality makes it ≥ 0; only rounding could take it below.
    bald[i] = Math.max(0, information / copies);
  }
  return { mean, std, bald };
}
