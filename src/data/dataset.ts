// The in-memory dataset every reader produces and the trainer consumes. Pixels
// stay uint8 (a full survey is 311 MB as uint8, 1.2 GB as float32); batches
// are converted to float32 as they are needed, into buffers the caller reuses.
import { InputError } from '../errors.ts';
import { sourcePixels, TRANSFORM_COUNT } from './augment.ts';
import { classNames, labelOf, type LabelScheme } from './labels.ts';

/** Cutouts are 69×69 pixels (27 arcsec at SDSS's 0.396 arcsec per pixel), RGB. */
export const CUTOUT_SIZE = 69;
export const CHANNELS = 3;
export const VALUES_PER_IMAGE = CUTOUT_SIZE * CUTOUT_SIZE * CHANNELS;

export interface Dataset {
  /** N×69×69×3 uint8, NHWC, as sdss.hdf5's `images`: red, green, blue = i, r, g. */
  readonly images: Uint8Array;
  /** One label per sample, in `scheme`. */
  readonly labels: Uint8Array;
  /** 'original' (the ten classes, as sdss.hdf5's `classes`) or 'binary' (from real/not-real folders). */
  readonly scheme: 'original' | 'binary';
  /** A name per sample: its index in the file, or its path inside a cutout folder. */
  readonly ids: readonly string[];
  /** The file or folder it came from. */
  readonly source: string;
}

export function sampleCount(dataset: Dataset): number {
  return dataset.labels.length;
}

/**
 * The dataset's labels in `scheme`. Ten original classes map to any scheme;
 * binary labels (from real/not-real folders) only to 'binary'.
 */
export function labelsFor(dataset: Dataset, scheme: LabelScheme): Uint8Array {
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

/** "Artefact 530, Dipole 900, ..." for logs and command output. */
export function describeCounts(labels: Uint8Array, scheme: LabelScheme): string {
  const names = classNames(scheme);
  return classCounts(labels, names.length)
    .map((n, c) => `${names[c]} ${n}`)
    .join(', ');
}

const UNIT_SCALE = Float32Array.from({ length: 256 }, (_, v) => v / 255);
const TRANSFORM_TABLES = Array.from({ length: TRANSFORM_COUNT }, (_, k) => sourcePixels(k, CUTOUT_SIZE));

/**
 * Writes the images of `indices` into `out` as float32 NHWC in [0, 1]
 * (uint8 / 255, as the notebook), optionally transformed: `transforms[i]`
 * (0-7, see augment.ts) applies to sample `indices[i]`.
 */
export function fillImages(dataset: Dataset, indices: ArrayLike<number>, out: Float32Array, transforms?: Uint8Array): void {
  const n = sampleCount(dataset);
  if (out.length < indices.length * VALUES_PER_IMAGE) {
    throw new RangeError(`fillImages: out holds ${out.length} values, ${indices.length} images need ${indices.length * VALUES_PER_IMAGE}`);
  }
  const pixels = CUTOUT_SIZE * CUTOUT_SIZE;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!(index >= 0 && index < n)) throw new RangeError(`fillImages: index ${index} is outside 0-${n - 1}`);
    const src = index * VALUES_PER_IMAGE;
    const dst = i * VALUES_PER_IMAGE;
    const table = TRANSFORM_TABLES[transforms ? transforms[i] : 0];
    for (let p = 0; p < pixels; p++) {
      const s = src + table[p] * CHANNELS;
      const d = dst + p * CHANNELS;
      out[d] = UNIT_SCALE[dataset.images[s]];
      out[d + 1] = UNIT_SCALE[dataset.images[s + 1]];
      out[d + 2] = UNIT_SCALE[dataset.images[s + 2]];
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
  return {
    count,
    classes,
    labels: new Int32Array(count),
    fill: (indices: ArrayLike<number>, x: Float32Array) => fillImages(dataset, indices, x.subarray(0, indices.length * VALUES_PER_IMAGE)),
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
