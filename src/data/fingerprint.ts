// A dataset's fingerprint, with Node's crypto: a run's saved split
// (src/data/split.ts) names the dataset it was drawn from, so it is never
// applied to other data.
import { createHash } from 'node:crypto';
import { sampleCount, type Dataset } from './dataset.ts';

/** SHA-256 of the labels and pixels. */
export function datasetFingerprint(dataset: Dataset): string {
  const hash = createHash('sha256');
  hash.update(`${dataset.scheme} ${sampleCount(dataset)}\n`);
  hash.update(dataset.labels);
  hash.update(dataset.images);
  return hash.digest('hex');
}
