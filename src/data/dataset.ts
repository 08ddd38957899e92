// The in-memory dataset every reader produces and the trainer consumes: N
// samples of one shape H×W×C, from any source (sdss.hdf5 and other HDF5
// files, cutout folders of PNG and FITS files, alert packets).
//
// Pixels and the preprocessing step. `preprocess` names the step of
// src/data/preprocess.ts that turns the source's pixels into the network's
// input, and the pixel type says whether it has been applied yet:
// - Uint8Array: raw 8-bit pixels (an sdss.hdf5 composite, a PNG), always with
//   'scale255', which is applied per batch, fround(x / 255), into buffers the
//   caller reuses: a full survey is 311 MB as uint8, 1.2 GB as float32;
// - Float32Array: the step was applied when the data were loaded (any step:
//   scale255 of float pixels, braai, braai-rows, none), and the values are the
//   network's input as they are.
//
// Augmentation (augment.ts) moves pixels by the symmetries of the image: all
// eight of the square's for square images; for H ≠ W only the four that keep
// the shape (identity, 180° rotation and the two mirrors), which
// drawTransforms picks when told the image is not square, and fillImages
// refuses a quarter turn of a non-square image.
//
// Platform-free: no Node built-in.
import { InputError } from '../errors.ts';
import type { CandidateValue, Survey } from './alerts.ts';
import { sourcePixels } from './augment.ts';
import { classNames, labelOf, type LabelScheme } from './labels.ts';
import type { PreprocessStepName } from './preprocess.ts';

/** [height, width, channels] of one sample. */
export type SampleShape = readonly [number, number, number];

/** How a dataset's labels are given: the ten original classes, real/not-real, or none at all. */
export type DatasetScheme = 'original' | 'binary' | 'unlabelled';

/** An alert packet's facts beside its sample (datasets read from .avro files, and the stream's cutout records). */
export interface AlertCandidate {
  /** null for a stream's cutout record, which names no survey. */
  survey: Survey | null;
  /** ZTF's objectId, or Rubin's diaObjectId (else ssObjectId); '' when a Rubin source has neither. */
  objectId: string;
  /** The .avro file the packet came from. */
  file: string;
  /** The scalar fields of ZTF's `candidate` or Rubin's `diaSource` (ra, dec, magpsf, drb, rb, ...), by their schema names. */
  fields: Readonly<Record<string, CandidateValue>>;
}

/** A sample a reader left out (an alert packet with a missing or corrupt cutout, or whose step failed), and why. */
export interface SkippedSample {
  /** The packet's candid (ZTF) or diaSourceId (Rubin); `${file}#${record}` when it has none. */
  id: string;
  /** One line, naming the file. */
  reason: string;
}

export interface Dataset {
  /** [H, W, C] of every sample. */
  readonly shape: SampleShape;
  /** N×H×W×C, NHWC: raw uint8 (preprocess 'scale255', applied per batch), or float32 already preprocessed. */
  readonly images: Uint8Array | Float32Array;
  /** The step that makes the network's input of the source's pixels (see the file's header). */
  readonly preprocess: PreprocessStepName;
  /** One label per sample, in `scheme`; all 0 when unlabelled. */
  readonly labels: Uint8Array;
  /** 'original' (the ten classes, as sdss.hdf5's `classes`), 'binary' (from real/not-real folders) or 'unlabelled'. */
  readonly scheme: DatasetScheme;
  /** A name per sample: its index or `ids` entry in an HDF5 file, its path inside a cutout folder, an alert's candid. */
  readonly ids: readonly string[];
  /** The file, folder or pattern it came from. */
  readonly source: string;
  /** Alert packets only: each sample's packet facts, aligned with `ids`. */
  readonly candidates?: readonly AlertCandidate[];
  /** Readers that skip bad samples (alert packets) list them here, in file order; also reported through their onSkipped option. */
  readonly skipped?: readonly SkippedSample[];
}

export function sampleCount(dataset: Dataset): number {
  return dataset.labels.length;
}

/** H × W × C: the values of one sample. */
export function valuesPerSample(shape: SampleShape): number {
  return shape[0] * shape[1] * shape[2];
}

/** 'uint8' (raw, scaled per batch) or 'float32' (preprocessed). */
export function pixelType(dataset: Dataset): 'uint8' | 'float32' {
  return dataset.images instanceof Uint8Array ? 'uint8' : 'float32';
}

/** "63×63×3" */
export const describeShape = (shape: SampleShape): string => shape.join('×');

/**
 * Checks that a dataset's parts agree (a programming error, not the user's,
 * when they do not) and returns it.
 */
export function checkDataset<D extends Dataset>(dataset: D): D {
  const { shape, images, labels, ids, preprocess } = dataset;
  const n = labels.length;
  if (shape.length !== 3 || !shape.every((s) => Number.isInteger(s) && s >= 1)) throw new RangeError(`dataset ${dataset.source}: shape [${shape.join(', ')}] is not [H, W, C] of whole numbers ≥ 1`);
  if (images.length !== n * valuesPerSample(shape)) throw new RangeError(`dataset ${dataset.source}: ${images.length} pixel values for ${n} samples of ${describeShape(shape)}`);
  if (ids.length !== n) throw new RangeError(`dataset ${dataset.source}: ${ids.length} ids for ${n} samples`);
  if (images instanceof Uint8Array && preprocess !== 'scale255') throw new RangeError(`dataset ${dataset.source}: uint8 images are kept raw for 'scale255' only, not '${preprocess}'`);
  if (dataset.candidates !== undefined && dataset.candidates.length !== n) throw new RangeError(`dataset ${dataset.source}: ${dataset.candidates.length} candidates for ${n} samples`);
  return dataset;
}

/**
 * The dataset's labels in `scheme`. Ten original classes map to any scheme;
 * binary labels (from real/not-real folders) only to 'binary'; an unlabelled
 * dataset has none to give.
 */
export function labelsFor(dataset: Dataset, scheme: LabelScheme): Uint8Array {
  if (dataset.scheme === 'unlabelled') {
    throw new InputError(
      `${dataset.source}: unlabelled (alert packets and HDF5 files without 'classes' carry no labels); training and evaluation need labels: give a labelled dataset, or use predict`,
    );
  }
  if (dataset.scheme === 'binary') {
    if (scheme !== 'binary') {
      throw new InputError(`${dataset.source}: labelled only real/not-real, so it cannot be used with --labels ${scheme} (needs the ten original classes)`);
    }
    return dataset.labels;
  }
  if (scheme === 'original') return dataset.labels;
  return dataset.labels.map((c) => labelOf(c, scheme));
}

/** How many samples of each class (labels in a scheme with `classCount` classes). */
export function classCounts(labels: Uint8Array, classCount: number): number[] {
  const counts = new Array<number>(classCount).fill(0);
  for (const c of labels) counts[c]++;
  return counts;
}

/** "Artefact 530, Dipole 900, ..." for logs and command output; "unlabelled" for an unlabelled dataset. */
export function describeCounts(labels: Uint8Array, scheme: LabelScheme | 'unlabelled'): string {
  if (scheme === 'unlabelled') return 'unlabelled';
  const names = classNames(scheme);
  return classCounts(labels, names.length)
    .map((n, c) => `${names[c]} ${n}`)
    .join(', ');
}

/** uint8 → float32 as the notebook: fround(v / 255). */
const UNIT_SCALE = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** Source-pixel tables of the transforms, per image size. */
const transformTables = new Map<string, Int32Array>();
function transformTable(k: number, height: number, width: number): Int32Array {
  const key = `${k} ${height} ${width}`;
  let table = transformTables.get(key);
  if (table === undefined) {
    table = sourcePixels(k, height, width);
    transformTables.set(key, table);
  }
  return table;
}

/**
 * Writes the images of `indices` into `out` as float32 NHWC: uint8 / 255 (as
 * the notebook), float images as they are; optionally transformed:
 * `transforms[i]` (0-7, see augment.ts; for H ≠ W only 0, 2, 4, 6) applies to
 * sample `indices[i]`.
 */
export function fillImages(dataset: Dataset, indices: ArrayLike<number>, out: Float32Array, transforms?: Uint8Array): void {
  const n = sampleCount(dataset);
  const [height, width, channels] = dataset.shape;
  const values = valuesPerSample(dataset.shape);
  if (out.length < indices.length * values) {
    throw new RangeError(`fillImages: out holds ${out.length} values, ${indices.length} images of ${describeShape(dataset.shape)} need ${indices.length * values}`);
  }
  const images = dataset.images;
  const raw = images instanceof Uint8Array;
  const pixels = height * width;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!(index >= 0 && index < n)) throw new RangeError(`fillImages: index ${index} is outside 0-${n - 1}`);
    const src = index * values;
    const dst = i * values;
    const k = transforms ? transforms[i] : 0;
    if (k === 0) {
      if (raw) for (let v = 0; v < values; v++) out[dst + v] = UNIT_SCALE[images[src + v]];
      else out.set(images.subarray(src, src + values), dst);
      continue;
    }
    const table = transformTable(k, height, width);
    for (let p = 0; p < pixels; p++) {
      const s = src + table[p] * channels;
      const d = dst + p * channels;
      if (raw) for (let c = 0; c < channels; c++) out[d + c] = UNIT_SCALE[images[s + c]];
      else for (let c = 0; c < channels; c++) out[d + c] = images[s + c];
    }
  }
}

/**
 * The dataset's cutouts as the inference loop takes them (src/train/fit.ts's
 * BatchSource, for predictAll): every sample, unlabelled, for a model with
 * `classes` outputs.
 */
export function inferenceSource(dataset: Dataset, classes: number) {
  const count = sampleCount(dataset);
  const values = valuesPerSample(dataset.shape);
  return {
    count,
    classes,
    labels: new Int32Array(count),
    fill: (indices: ArrayLike<number>, x: Float32Array) => fillImages(dataset, indices, x.subarray(0, indices.length * values)),
  };
}

/** Writes one-hot rows (indices.length × classCount) for `labels` (from labelsFor) into `out`. */
export function fillOneHot(labels: Uint8Array, classCount: number, indices: ArrayLike<number>, out: Float32Array): void {
  if (out.length < indices.length * classCount) {
    throw new RangeError(`fillOneHot: out holds ${out.length} values, ${indices.length} rows need ${indices.length * classCount}`);
  }
  out.fill(0, 0, indices.length * classCount);
  for (let i = 0; i < indices.length; i++) {
    const label = labels[indices[i]];
    if (label === undefined || label >= classCount) throw new RangeError(`fillOneHot: no label ${label} at index ${indices[i]} for ${classCount} classes`);
    out[i * classCount + label] = 1;
  }
}
