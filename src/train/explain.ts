// Where the network looks when it scores a cutout, for the scanning page's
// overlay and `handscan explain`:
// - gradient saliency (Simonyan et al. 2014): the gradient of the score with
//   respect to every input pixel, through the tape, with batch normalisation
//   on its moving statistics and dropout off, as at inference;
// - occlusion (Zeiler & Fergus 2014): how much the score falls when a square
//   patch of the input is blanked, at every position of a sliding window.
// The score is p_real for a sigmoid head, else the probability of one class:
// `classIndex`, by default each cutout's predicted class. Both explain the
// network's own probabilities: a temperature from --calibrate would rescale
// the gradients, not move them. Platform-free: any backend, no Node built-in.
import { fillImages, sampleCount, valuesPerSample, type Dataset, type SampleShape } from '../data/dataset.ts';
import { predictedClass } from '../data/labels.ts';
import type { Tensor } from '../kernels/backend.ts';
import type { Model } from '../nn/model.ts';
import { rootLoss } from '../nn/ops.ts';
import { Tape, Variable } from '../nn/tape.ts';
import { predictAll, type BatchSource } from './fit.ts';

export interface ExplainOptions {
  /** The samples to explain, in this order [all of them]. */
  indices?: Uint32Array;
  /** The class whose probability is the score (softmax heads) [each sample's predicted class]. */
  classIndex?: number;
  /** Images per batch, capped by the engine (Backend.inferenceBatch) [the engine's default]. */
  batchSize?: number;
}

/** Each sample's score: what the maps explain. */
export interface Scored {
  /** The class each score is the probability of (0, p_real, for a sigmoid head). */
  classes: Int32Array;
  /** N: the score of the cutout as it is. */
  scores: Float32Array;
}

export interface Saliency extends Scored {
  /** N × H × W × C: d score / d pixel of the network's input. */
  gradients: Float32Array;
  /** N × H × W: the largest |gradient| over each pixel's channels, for display. */
  maps: Float32Array;
}

export interface Occlusion extends Scored {
  patch: number;
  stride: number;
  /**
   * N × H × W: score(cutout) − score(cutout with the patch blanked), each
   * pixel's the mean over the patch positions that cover it: positive where
   * the pixels raise the score.
   */
  maps: Float32Array;
}

const allSamples = (dataset: Dataset) => Uint32Array.from({ length: sampleCount(dataset) }, (_, i) => i);

/** A chosen class must be one of the model's, checked before any work. */
function checkClass(classIndex: number | undefined, width: number): void {
  if (classIndex !== undefined && width > 1 && !(Number.isInteger(classIndex) && classIndex >= 0 && classIndex < width)) throw new RangeError(`class ${classIndex} is not one of the model's 0-${width - 1}`);
}

/** The class a score is the probability of, for probabilities probs[at..at+width]. */
function scoredClass(probs: Float32Array | Float64Array, at: number, width: number, classIndex: number | undefined): number {
  if (width === 1) return 0;
  return classIndex ?? predictedClass(probs.subarray(at, at + width));
}

/** Gradient saliency of each sample's score, in batches the engine allows. */
export async function saliency<T extends Tensor>(model: Model<T>, dataset: Dataset, opts: ExplainOptions = {}): Promise<Saliency> {
  const b = model.backend;
  const indices = opts.indices ?? allSamples(dataset);
  const n = indices.length;
  const width = model.classes;
  checkClass(opts.classIndex, width);
  const values = valuesPerSample(dataset.shape);
  const pixels = dataset.shape[0] * dataset.shape[1];
  const channels = dataset.shape[2];
  const batchSize = b.inferenceBatch(model.largestActivation(), opts.batchSize);
  const staging = new Float32Array(Math.min(batchSize, n) * values);
  const out: Saliency = { classes: new Int32Array(n), scores: new Float32Array(n), gradients: new Float32Array(n * values), maps: new Float32Array(n * pixels) };
  const tape = new Tape(b);
  const params = model.parameters();
  for (let start = 0; start < n; start += batchSize) {
    const part = indices.subarray(start, Math.min(start + batchSize, n));
    fillImages(dataset, part, staging);
    const x = new Variable(tape.keep(b.fromArray(staging.subarray(0, part.length * values), [part.length, ...model.inputShape])), true);
    const logits = model.forward(tape, x, { training: false, step: 0 });
    const probs = tape.keep(b.activationForward(logits.value, model.head));
    const p = await b.toArray(probs);
    // d score / d logits is the output activation's backward from a one-hot dy
    // (softmax: p_c(δ_ck − p_k); sigmoid: p(1 − p)); samples do not mix at
    // inference, so one backward gives every sample's own gradient.
    const dy = new Float32Array(part.length * width);
    for (let i = 0; i < part.length; i++) {
      const c = scoredClass(p, i * width, width, opts.classIndex);
      out.classes[start + i] = c;
      out.scores[start + i] = p[i * width + c];
      dy[i * width + c] = 1;
    }
    rootLoss(tape, logits, b.activationBackward(probs, tape.keep(b.fromArray(dy, [part.length, width])), model.head));
    tape.backward();
    if (!x.grad) throw new Error('saliency: the input received no gradient');
    out.gradients.set(await b.toArray(x.grad), start * values);
    tape.reset(params);
    b.flush();
  }
  for (let q = 0; q < n * pixels; q++) {
    let most = 0;
    for (let c = 0; c < channels; c++) most = Math.max(most, Math.abs(out.gradients[q * channels + c]));
    out.maps[q] = most;
  }
  return out;
}

/** The default patch for cutouts of `shape`: 9 pixels for 69×69 (about an eighth of the side, enough to cover a point source), a third of it apart. */
export function defaultOcclusion([height, width]: SampleShape): { patch: number; stride: number } {
  const patch = Math.max(1, Math.round((Math.min(height, width) * 9) / 69));
  return { patch, stride: Math.max(1, Math.round(patch / 3)) };
}

/** A patch's first row (or column) at each position: every `stride`, and flush with the far edge, so that every pixel is covered. */
function patchStarts(size: number, patch: number, stride: number): number[] {
  const starts: number[] = [];
  for (let s = 0; s + patch <= size; s += stride) starts.push(s);
  if (starts.at(-1)! + patch < size) starts.push(size - patch);
  return starts;
}

/** Occlusion maps: every patch position of a sample is one image, and predictAll scores them in batches. */
export async function occlusion<T extends Tensor>(model: Model<T>, dataset: Dataset, opts: ExplainOptions & { patch?: number; stride?: number } = {}): Promise<Occlusion> {
  const [height, width, channels] = dataset.shape;
  checkClass(opts.classIndex, model.classes);
  const defaults = defaultOcclusion(dataset.shape);
  const { patch = defaults.patch, stride = defaults.stride } = opts;
  if (!(Number.isInteger(patch) && patch >= 1 && patch <= Math.min(height, width))) throw new RangeError(`occlusion: patch ${patch} is not a whole number of pixels within the ${height}×${width} cutout`);
  if (!(Number.isInteger(stride) && stride >= 1)) throw new RangeError(`occlusion: stride ${stride} is not a whole number of pixels ≥ 1`);
  const indices = opts.indices ?? allSamples(dataset);
  const rows = patchStarts(height, patch, stride);
  const cols = patchStarts(width, patch, stride);
  const positions = rows.flatMap((r) => cols.map((c) => [r, c] as const));
  // Item 0 of each sample is the cutout as it is, item q the cutout with patch q − 1 blanked.
  const per = 1 + positions.length;
  const values = valuesPerSample(dataset.shape);
  const count = indices.length * per;
  const source: BatchSource = {
    count,
    classes: model.classes,
    labels: new Int32Array(count),
    fill: (items, x) => {
      fillImages(dataset, Uint32Array.from(items, (j) => indices[Math.floor(j / per)]), x);
      for (let i = 0; i < items.length; i++) {
        const q = items[i] % per;
        if (q === 0) continue;
        const [r0, c0] = positions[q - 1];
        // 0 in the network's input, after preprocessing: black under scale255,
        // no flux under braai's normalised cutouts. The patch takes the signal
        // away rather than putting a new one (a mean or noise) in its place.
        for (let r = r0; r < r0 + patch; r++) x.fill(0, i * values + (r * width + c0) * channels, i * values + (r * width + c0 + patch) * channels);
      }
    },
  };
  const k = model.classes;
  const probs = await predictAll(model, source, { batchSize: opts.batchSize });
  const n = indices.length;
  const out: Occlusion = { patch, stride, classes: new Int32Array(n), scores: new Float32Array(n), maps: new Float32Array(n * height * width) };
  const sum = new Float64Array(height * width);
  const covered = new Uint32Array(height * width);
  for (let s = 0; s < n; s++) {
    const at = s * per * k;
    const c = scoredClass(probs, at, k, opts.classIndex);
    const score = probs[at + c];
    out.classes[s] = c;
    out.scores[s] = score;
    sum.fill(0);
    covered.fill(0);
    positions.forEach(([r0, c0], q) => {
      const drop = score - probs[at + (q + 1) * k + c];
      for (let r = r0; r < r0 + patch; r++) {
        for (let col = c0; col < c0 + patch; col++) {
          sum[r * width + col] += drop;
          covered[r * width + col]++;
        }
      }
    });
    for (let p = 0; p < height * width; p++) out.maps[s * height * width + p] = sum[p] / covered[p];
  }
  return out;
}
