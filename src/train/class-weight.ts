// --class-weight: Keras's class_weight. Each training sample's loss term is
// weighted by its class's weight (trainStep's per-sample weights), so that a
// rare class counts for more; validation and test losses stay unweighted, as
// Keras leaves them.
import { UsageError } from '../errors.ts';

/** 'none', 'balanced' (from the training split's counts), or one weight per class. */
export type ClassWeightOption = 'none' | 'balanced' | number[];

/** Parses --class-weight for a label scheme of `classes` classes. */
export function parseClassWeight(value: string | undefined, classes: number): ClassWeightOption {
  if (value === undefined || value === 'none' || value === 'balanced') return value ?? 'none';
  const weights = value.split(',').map((w) => (w.trim() === '' ? NaN : Number(w)));
  if (weights.length !== classes || weights.some((w) => !Number.isFinite(w) || w < 0) || weights.every((w) => w === 0)) {
    throw new UsageError(`train: --class-weight must be none, balanced or ${classes} non-negative weights w0,...,w${classes - 1} (not all 0), got '${value}'`);
  }
  return weights;
}

/**
 * The weight of each class, or null for none. 'balanced' is scikit-learn's
 * (and Keras users'): n_samples / (n_classes · count_c) over the training
 * labels `labels`; a class absent from them gets 1 (it weights no sample).
 */
export function classWeights(option: ClassWeightOption, labels: ArrayLike<number>, classes: number): Float64Array | null {
  if (option === 'none') return null;
  if (option !== 'balanced') return Float64Array.from(option);
  const counts = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts.map((c) => (c === 0 ? 1 : labels.length / (classes * c)));
}

export function describeClassWeight(option: ClassWeightOption, weights: ArrayLike<number> | null): string {
  if (!weights) return 'none';
  const list = Array.from(weights, (w) => Number(w.toPrecision(4))).join(', ');
  return option === 'balanced' ? `balanced (${list}, from the training split)` : list;
}
