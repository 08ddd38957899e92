// A part of a dataset (a split's train, validation or test indices) as the
// training loop's BatchSource: uint8 pixels converted per batch.
import { VALUES_PER_IMAGE, fillImages, fillOneHot, labelsFor, type Dataset } from '../data/dataset.ts';
import { drawTransforms } from '../data/augment.ts';
import { classNames, type LabelScheme } from '../data/labels.ts';
import { Random } from '../data/random.ts';
import type { BatchSource } from './fit.ts';

/** Random stream of the augmentation, apart from the split's and the simulator's. */
const AUGMENT_STREAM = 0xa06;

export function batchSource(dataset: Dataset, scheme: LabelScheme, members: Int32Array): BatchSource {
  const all = labelsFor(dataset, scheme);
  const classes = classNames(scheme).length;
  const labels = Int32Array.from(members, (i) => all[i]);
  let samples = new Int32Array(0);
  let transforms = new Uint8Array(0);
  return {
    count: members.length,
    classes,
    labels,
    fill(indices, x, targets, augmentSeed) {
      if (samples.length < indices.length) {
        samples = new Int32Array(indices.length);
        transforms = new Uint8Array(indices.length);
      }
      const chosen = samples.subarray(0, indices.length);
      for (let i = 0; i < indices.length; i++) chosen[i] = members[indices[i]];
      const t = augmentSeed === undefined ? undefined : drawTransforms(new Random(augmentSeed, AUGMENT_STREAM), indices.length, transforms);
      fillImages(dataset, chosen, x.subarray(0, indices.length * VALUES_PER_IMAGE), t);
      fillOneHot(all, classes, chosen, targets);
    },
  };
}
