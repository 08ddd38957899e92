// A part of a dataset (a split's train, validation or test indices) as the
// training loop's BatchSource: uint8 pixels converted per batch, float ones
// copied; augmentation draws the transforms that keep the image's shape.
import { fillImages, fillOneHot, labelsFor, valuesPerSample, type Dataset } from '../data/dataset.ts';
import { drawTransforms } from '../data/augment.ts';
import { classNames, type LabelScheme } from '../data/labels.ts';
import { Random } from '../data/random.ts';
import type { BatchSource } from './fit.ts';

/** Random stream of the augmentation, apart from the split's and the simulator's. */
const AUGMENT_STREAM = 0xa06;

/**
 * The samples `members` of `dataset`, labelled in `scheme`, for a model with
 * `outputs` outputs: the scheme's class count (one-hot targets, the
 * default), or 1 for a sigmoid head on binary labels (targets B×1, 1 for real).
 */
export function batchSource(dataset: Dataset, scheme: LabelScheme, members: Int32Array, outputs = classNames(scheme).length): BatchSource {
  const all = labelsFor(dataset, scheme);
  const classes = outputs;
  const sigmoid = outputs === 1;
  if (sigmoid ? scheme !== 'binary' : outputs !== classNames(scheme).length) {
    throw new RangeError(`batchSource: a model with ${outputs} output${outputs === 1 ? '' : 's'} cannot learn --labels ${scheme} (${classNames(scheme).length} classes)`);
  }
  const labels = Int32Array.from(members, (i) => all[i]);
  const values = valuesPerSample(dataset.shape);
  const square = dataset.shape[0] === dataset.shape[1];
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
      const t = augmentSeed === undefined ? undefined : drawTransforms(new Random(augmentSeed, AUGMENT_STREAM), indices.length, transforms, square);
      fillImages(dataset, chosen, x.subarray(0, indices.length * values), t);
      if (sigmoid) for (let i = 0; i < chosen.length; i++) targets[i] = all[chosen[i]];
      else fillOneHot(all, classes, chosen, targets);
    },
  };
}
