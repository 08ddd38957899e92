// A Dataset of random float images (already the network's input, as after
// preprocessing 'none'), for the modules that read cutouts from a Dataset
// (src/train/uncertainty.ts, src/train/explain.ts).
import { checkDataset, type Dataset, type SampleShape } from '../../src/data/dataset.ts';
import { randomTensor } from './random.ts';

export function randomDataset(count: number, shape: SampleShape, random: () => number): Dataset {
  return checkDataset({
    shape,
    images: Float32Array.from(randomTensor([count, ...shape], random).data),
    preprocess: 'none',
    labels: new Uint8Array(count),
    scheme: 'unlabelled',
    ids: Array.from({ length: count }, (_, i) => `c${i}`),
    source: 'random images',
  });
}
