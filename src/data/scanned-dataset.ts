// The candidates a scanner labelled (src/data/scan-labels.ts), as a dataset
// of their own that `train --labels FILE.jsonl` splits and trains on: the
// labelled samples of the data they were scanned in, each with its latest
// label and 'unsure' left out. Real/bogus scans become a binary dataset,
// scans of the ten original classes an original one.
import { InputError } from '../errors.ts';
import { checkDataset, valuesPerSample, type Dataset } from './dataset.ts';
import type { LabelScheme } from './labels.ts';
import { readScanLabels, scannedLabels } from './scan-labels.ts';

/** The scheme a labels file's labels are in (its first label's; scannedLabels checks that the rest agree). */
export function scanLabelsScheme(path: string): LabelScheme {
  const { latest, exists } = readScanLabels(path);
  if (!exists) throw new InputError(`${path}: no such labels file`);
  const first = latest.values().next().value;
  if (!first) throw new InputError(`${path}: holds no labels`);
  return first.scheme;
}

/** The labelled candidates of `dataset` per the labels file at `path`, in the order they were first labelled. */
export function scannedDataset(dataset: Dataset, path: string): Dataset {
  const { scheme, indices, labels } = scannedLabels(dataset, path);
  // Visual labels (3 classes) do not map back to the ten a dataset holds.
  if (scheme === 'visual') throw new InputError(`${path}: visual labels cannot be trained on yet; scan with --scheme binary or original`);
  if (indices.length === 0) throw new InputError(`${path}: no candidate is labelled other than unsure`);
  const v = valuesPerSample(dataset.shape);
  const images = dataset.images instanceof Uint8Array ? new Uint8Array(indices.length * v) : new Float32Array(indices.length * v);
  indices.forEach((i, k) => images.set(dataset.images.subarray(i * v, (i + 1) * v), k * v));
  return checkDataset({
    shape: dataset.shape,
    images,
    preprocess: dataset.preprocess,
    labels,
    scheme,
    ids: Array.from(indices, (i) => dataset.ids[i]),
    source: `${dataset.source} as labelled in ${path}`,
    ...(dataset.candidates ? { candidates: Array.from(indices, (i) => dataset.candidates![i]) } : {}),
  });
}
