// A BatchSource of random images with random binary labels, for tests of the
// training and inference loops (src/train/fit.ts) on any network's input.
import type { BatchSource } from '../../src/train/fit.ts';

/** `count` random images of `imageShape` (H×W×C) in [0, 1) with labels 0 or 1, one-hot. */
export function randomSource(count: number, imageShape: readonly number[], random: () => number): BatchSource {
  const size = imageShape.reduce((a, b) => a * b, 1);
  const pixels = Float32Array.from({ length: count * size }, () => random());
  const labels = Int32Array.from({ length: count }, () => (random() < 0.5 ? 0 : 1));
  return {
    count,
    classes: 2,
    labels,
    fill(indices, x, targets) {
      for (let i = 0; i < indices.length; i++) {
        x.set(pixels.subarray(indices[i] * size, (indices[i] + 1) * size), i * size);
        targets[i * 2 + labels[indices[i]]] = 1;
      }
    },
  };
}
