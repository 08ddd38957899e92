// A dataset's fingerprint, with Node's crypto: a run's saved split
// (src/data/split.ts) names the dataset it was drawn from, so it is never
// applied to other data.
import { createHash } from 'node:crypto';
import { pixelType, sampleCount, type Dataset } from './dataset.ts';

/**
 * SHA-256 of the scheme, sample count, shape, pixel type and preprocessing
 * step, then the labels and the pixels' bytes. Splits saved while every
 * dataset was uint8 69×69×3 hashed only the scheme and count: such data keep
 * that header, so that their runs still resume.
 */
export function datasetFingerprint(dataset: Dataset): string {
  const hash = createHash('sha256');
  const paperLayout = dataset.shape.join('x') === '69x69x3' && pixelType(dataset) === 'uint8';
  hash.update(`${dataset.scheme} ${sampleCount(dataset)}${paperLayout ? '' : ` ${dataset.shape.join('x')} ${pixelType(dataset)} ${dataset.preprocess}`}\n`);
  hash.update(dataset.labels);
  const images = dataset.images;
  hash.update(new Uint8Array(images.buffer, images.byteOffset, images.byteLength));
  return hash.digest('hex');
}
