// The split: the paper's sizes, stratified, disjoint, seeded, and bound to
// its dataset when saved with a run.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classCounts, type Dataset } from '../src/data/dataset.ts';
import { CUTOUT_SHAPE, PAPER_COUNTS, PAPER_SAMPLES, scaleCounts, VALUES_PER_IMAGE } from '../src/data/simulator/survey.ts';
import { loadSplit, saveSplit, splitSizes, stratifiedSplit, type Split } from '../src/data/split.ts';
import { Random } from '../src/data/random.ts';
import { TEST_SEED } from './support/random.ts';

const folder = mkdtempSync(join(tmpdir(), 'handscan-split-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Labels with the given class counts, in a random order. */
function labelsWithCounts(counts: readonly number[], seed: number): Uint8Array {
  const labels = new Uint8Array(counts.reduce((a, b) => a + b, 0));
  let i = 0;
  counts.forEach((n, c) => {
    labels.fill(c, i, i + n);
    i += n;
  });
  return new Random(seed).shuffle(labels);
}

function expectPartition(split: Split, n: number): void {
  const seen = new Uint8Array(n);
  for (const part of [split.train, split.validation, split.test]) {
    for (const i of part) {
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThan(n);
      seen[i]++;
    }
  }
  expect(seen.every((s) => s === 1)).toBe(true);
}

describe(`split (TEST_SEED=${TEST_SEED})`, () => {
  it("the paper's counts add up to its 21,785 samples", () => {
    expect(PAPER_COUNTS.reduce((a, b) => a + b, 0)).toBe(PAPER_SAMPLES);
    expect(scaleCounts(PAPER_COUNTS, PAPER_SAMPLES)).toEqual(PAPER_COUNTS);
    for (const n of [1, 7, 100, 999]) expect(scaleCounts(PAPER_COUNTS, n).reduce((a, b) => a + b, 0)).toBe(n);
  });

  it('N = 21,785: exactly 11,436 / 4,902 / 5,447, disjoint, covering, each class within 1% of its share in every part', () => {
    expect(splitSizes(PAPER_SAMPLES)).toEqual({ train: 11_436, validation: 4_902, test: 5_447 });
    const labels = labelsWithCounts(PAPER_COUNTS, TEST_SEED);
    const split = stratifiedSplit(labels, TEST_SEED);
    expect([split.train.length, split.validation.length, split.test.length]).toEqual([11_436, 4_902, 5_447]);
    expectPartition(split, PAPER_SAMPLES);
    const whole = classCounts(labels, 10).map((c) => c / PAPER_SAMPLES);
    for (const part of [split.train, split.validation, split.test]) {
      const counts = classCounts(Uint8Array.from(part, (i) => labels[i]), 10);
      counts.forEach((c, k) => expect(Math.abs(c / part.length - whole[k])).toBeLessThan(0.01));
      // Stratification is exact to one sample per class, much tighter than 1%.
      counts.forEach((c, k) => expect(Math.abs(c - whole[k] * part.length)).toBeLessThanOrEqual(1));
    }
  });

  it('the same seed gives the same split, another seed another one', () => {
    const labels = labelsWithCounts([50, 60, 70, 80, 90, 100, 110, 120, 130, 140], TEST_SEED);
    const a = stratifiedSplit(labels, TEST_SEED);
    const b = stratifiedSplit(labels, TEST_SEED);
    const c = stratifiedSplit(labels, TEST_SEED + 1);
    expect(Array.from(a.test)).toEqual(Array.from(b.test));
    expect(Array.from(a.train)).toEqual(Array.from(b.train));
    expect(Array.from(a.test)).not.toEqual(Array.from(c.test));
  });

  for (const n of [1, 2, 3, 10, 101]) {
    it(`N = ${n}: sizes add up and the parts partition the samples`, () => {
      const labels = labelsWithCounts(scaleCounts([1, 1, 1], n), TEST_SEED);
      const split = stratifiedSplit(labels, TEST_SEED);
      const sizes = splitSizes(n);
      expect(sizes.train + sizes.validation + sizes.test).toBe(n);
      expect([split.train.length, split.validation.length, split.test.length]).toEqual([sizes.train, sizes.validation, sizes.test]);
      expectPartition(split, n);
    });
  }

  it('a saved split reloads for its own dataset only, and a tampered one is refused', async () => {
    const n = 40;
    const labels = labelsWithCounts(scaleCounts([1, 1, 1, 1], n), TEST_SEED);
    const dataset: Dataset = { shape: CUTOUT_SHAPE, images: new Uint8Array(n * VALUES_PER_IMAGE).fill(7), preprocess: 'scale255', labels, scheme: 'original', ids: [], source: 'test data' };
    const split = stratifiedSplit(labels, TEST_SEED);
    const path = join(folder, 'split.json');
    await saveSplit(path, split, dataset);
    const back = loadSplit(path, dataset);
    expect(Array.from(back.test)).toEqual(Array.from(split.test));
    expect(Array.from(back.train)).toEqual(Array.from(split.train));

    const other = { ...dataset, images: dataset.images.slice().fill(8) };
    expect(() => loadSplit(path, other)).toThrow(/drawn from another dataset/);
    // The same bytes in another shape, or preprocessed otherwise, are other data too.
    expect(() => loadSplit(path, { ...dataset, shape: [69, 3, 69] })).toThrow(/drawn from another dataset/);
    const floats = { ...dataset, images: new Float32Array(n * VALUES_PER_IMAGE).fill(7), preprocess: 'none' as const };
    expect(() => loadSplit(path, floats)).toThrow(/drawn from another dataset/);

    const file = JSON.parse(readFileSync(path, 'utf8'));
    file.train.push(file.test[0]);
    writeFileSync(path, JSON.stringify(file));
    expect(() => loadSplit(path, dataset)).toThrow(new RegExp(`sample ${file.test[0]} appears twice`));
    writeFileSync(path, '{ not json');
    expect(() => loadSplit(path, dataset)).toThrow(/unreadable split/);
  });
});
