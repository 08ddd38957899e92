// The train / validation / test split: the notebook's proportions (25% test,
// then 30% of the rest for validation), seeded and stratified by class, and
// saved with a run so that a test set is never trained on.
import { readFileSync } from 'node:fs';
import { InputError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-file.ts';
import { sampleCount, type Dataset } from './dataset.ts';
import { datasetFingerprint } from './fingerprint.ts';
import { Random } from './random.ts';

export const TEST_FRACTION = 0.25;
export const VALIDATION_FRACTION = 0.3;
/** Random stream of the split, apart from the simulator's and the augmentation's. */
const SPLIT_STREAM = 0x5b1170;

export interface Split {
  seed: number;
  /** Sample indices, ascending; the three parts are disjoint and cover the dataset. */
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
}

/**
 * Part sizes for n samples. scikit-learn's train_test_split, which the
 * notebook called twice, rounds the held-out part up: for n = 21,785 that
 * gives the paper's 5,447 test, 4,902 validation and 11,436 training samples.
 */
export function splitSizes(n: number): { train: number; validation: number; test: number } {
  const test = Math.ceil(TEST_FRACTION * n);
  const validation = Math.ceil(VALIDATION_FRACTION * (n - test));
  return { train: n - test - validation, validation, test };
}

/**
 * Shares `total` among strata in proportion to their sizes, exactly: each
 * gets the floor of its quota and the remainder goes to the largest
 * fractional parts (Hamilton's method); ties go to the larger stratum, then
 * to the lower class index.
 */
function apportion(sizes: readonly number[], total: number): number[] {
  const all = sizes.reduce((a, b) => a + b, 0);
  const quotas = sizes.map((s) => (all === 0 ? 0 : (s * total) / all));
  const shares = quotas.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const order = sizes.map((_, c) => c).sort((a, b) => quotas[b] - shares[b] - (quotas[a] - shares[a]) || sizes[b] - sizes[a] || a - b);
  for (const c of order) {
    if (left === 0) break;
    if (shares[c] < sizes[c]) {
      shares[c]++;
      left--;
    }
  }
  return shares;
}

/** Splits samples stratified by `strata` (one class per sample), reproducibly for a seed. */
export function stratifiedSplit(strata: Uint8Array, seed: number): Split {
  const n = strata.length;
  const sizes = splitSizes(n);
  const members: number[][] = [];
  strata.forEach((c, i) => (members[c] ??= []).push(i));
  const classes = Array.from({ length: members.length }, (_, c) => members[c] ?? []);
  const testShares = apportion(
    classes.map((m) => m.length),
    sizes.test,
  );
  const validationShares = apportion(
    classes.map((m, c) => m.length - testShares[c]),
    sizes.validation,
  );
  const random = new Random(seed, SPLIT_STREAM);
  const parts = { train: [] as number[], validation: [] as number[], test: [] as number[] };
  classes.forEach((m, c) => {
    const shuffled = random.shuffle(m.slice());
    parts.test.push(...shuffled.slice(0, testShares[c]));
    parts.validation.push(...shuffled.slice(testShares[c], testShares[c] + validationShares[c]));
    parts.train.push(...shuffled.slice(testShares[c] + validationShares[c]));
  });
  const sorted = (a: number[]) => Int32Array.from(a).sort();
  return { seed, train: sorted(parts.train), validation: sorted(parts.validation), test: sorted(parts.test) };
}

interface SplitFile {
  seed: number;
  samples: number;
  dataset: string;
  train: number[];
  validation: number[];
  test: number[];
}

/** Saves a split beside a run, with the fingerprint of the dataset it indexes. */
export async function saveSplit(path: string, split: Split, dataset: Dataset): Promise<void> {
  const file: SplitFile = {
    seed: split.seed,
    samples: sampleCount(dataset),
    dataset: datasetFingerprint(dataset),
    train: Array.from(split.train),
    validation: Array.from(split.validation),
    test: Array.from(split.test),
  };
  await writeFileAtomic(path, `${JSON.stringify(file)}\n`);
}

/** Reads a saved split, refusing it for any other dataset than the one it was drawn from. */
export function loadSplit(path: string, dataset: Dataset): Split {
  let file: SplitFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as SplitFile;
  } catch (e) {
    throw new InputError(`${path}: unreadable split (${(e as Error).message.split('\n')[0]})`);
  }
  const n = sampleCount(dataset);
  if (file.samples !== n || file.dataset !== datasetFingerprint(dataset)) {
    throw new InputError(`${path}: this split was drawn from another dataset (${file.samples} samples) than ${dataset.source} (${n} samples); use the run's own data`);
  }
  const seen = new Uint8Array(n);
  const part = (name: 'train' | 'validation' | 'test') => {
    const indices = file[name];
    if (!Array.isArray(indices)) throw new InputError(`${path}: no '${name}' index list`);
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new InputError(`${path}: '${name}' holds ${i}, outside 0-${n - 1}`);
      if (seen[i]++) throw new InputError(`${path}: sample ${i} appears twice; the parts must be disjoint`);
    }
    return Int32Array.from(indices);
  };
  const split = { seed: file.seed, train: part('train'), validation: part('validation'), test: part('test') };
  const missing = seen.indexOf(0);
  if (missing >= 0) throw new InputError(`${path}: sample ${missing} is in no part; a split covers the whole dataset`);
  return split;
}
