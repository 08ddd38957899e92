// From uint8 cutouts to training batches: float32 = uint8 / 255, one-hot
// labels in each scheme, and the seeded flips and rotations, which only
// move pixels.
import { describe, expect, it } from 'vitest';
import { sourcePixels, drawTransforms, TRANSFORM_COUNT } from '../src/data/augment.ts';
import { CUTOUT_SIZE, fillImages, fillOneHot, labelsFor, VALUES_PER_IMAGE, type Dataset } from '../src/data/dataset.ts';
import { classNames, LABEL_SCHEMES, labelOf } from '../src/data/labels.ts';
import { Random } from '../src/data/random.ts';
import { rng, TEST_SEED } from './support/random.ts';

/** Index of the first differing element, or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function randomDataset(n: number): Dataset {
  const random = rng(TEST_SEED);
  return {
    images: Uint8Array.from({ length: n * VALUES_PER_IMAGE }, () => Math.floor(random() * 256)),
    labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
    scheme: 'original',
    ids: Array.from({ length: n }, (_, i) => String(i)),
    source: 'random cutouts',
  };
}

describe(`batches (TEST_SEED=${TEST_SEED})`, () => {
  const dataset = randomDataset(12);

  it('fillImages writes uint8 / 255 as float32 NHWC for any list of indices', () => {
    const indices = [11, 0, 5, 5];
    const out = new Float32Array(indices.length * VALUES_PER_IMAGE + 3).fill(NaN);
    fillImages(dataset, Int32Array.from(indices), out);
    const expected = Float32Array.from({ length: indices.length * VALUES_PER_IMAGE }, (_, v) => dataset.images[indices[Math.floor(v / VALUES_PER_IMAGE)] * VALUES_PER_IMAGE + (v % VALUES_PER_IMAGE)] / 255);
    expect(firstDifference(out.subarray(0, expected.length), expected)).toBe(-1);
    expect(Number.isNaN(out[indices.length * VALUES_PER_IMAGE])).toBe(true);
    expect(() => fillImages(dataset, [12], out)).toThrow(RangeError);
    expect(() => fillImages(dataset, [0, 1], new Float32Array(VALUES_PER_IMAGE))).toThrow(RangeError);
  });

  for (const scheme of LABEL_SCHEMES) {
    it(`fillOneHot gives one 1 per row in the ${scheme} scheme (${classNames(scheme).length} classes)`, () => {
      const labels = labelsFor(dataset, scheme);
      const classes = classNames(scheme).length;
      const indices = [3, 9, 0, 2];
      const out = new Float32Array(indices.length * classes).fill(NaN);
      fillOneHot(labels, classes, indices, out);
      indices.forEach((index, i) => {
        const row = Array.from(out.subarray(i * classes, (i + 1) * classes));
        expect(row.filter((v) => v === 1)).toHaveLength(1);
        expect(row.filter((v) => v === 0)).toHaveLength(classes - 1);
        expect(row.indexOf(1)).toBe(labelOf(dataset.labels[index], scheme));
      });
    });
  }

  it("label schemes map as REFERENCE.md's table", () => {
    expect(Array.from({ length: 10 }, (_, c) => labelOf(c, 'binary'))).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
    expect(Array.from({ length: 10 }, (_, c) => labelOf(c, 'visual'))).toEqual([0, 1, 1, 2, 2, 2, 2, 2, 2, 2]);
  });

  it('each of the 8 transforms is a permutation of the pixels, all different, k = 0 the identity', () => {
    const tables = Array.from({ length: TRANSFORM_COUNT }, (_, k) => sourcePixels(k, CUTOUT_SIZE));
    for (const table of tables) expect(Array.from(table).sort((a, b) => a - b)).toEqual(Array.from({ length: CUTOUT_SIZE ** 2 }, (_, p) => p));
    expect(Array.from(tables[0])).toEqual(Array.from({ length: CUTOUT_SIZE ** 2 }, (_, p) => p));
    expect(new Set(tables.map((t) => t.join(','))).size).toBe(TRANSFORM_COUNT);
    // Mirroring twice, or rotating four quarter turns, restores the image.
    const twice = (t: Int32Array, u: Int32Array) => Array.from(t, (s) => u[s]);
    expect(twice(tables[4], tables[4])).toEqual(Array.from(tables[0]));
    expect(twice(tables[2], tables[2])).toEqual(Array.from(tables[0]));
    // An odd size's centre pixel never moves.
    const centre = ((CUTOUT_SIZE - 1) / 2) * (CUTOUT_SIZE + 1);
    for (const table of tables) expect(table[centre]).toBe(centre);
  });

  it('augmented batches hold the same pixel values, moved, and are reproducible from the seed', () => {
    const indices = Array.from({ length: 12 }, (_, i) => i);
    const transforms = drawTransforms(new Random(TEST_SEED, 7), indices.length);
    expect(Array.from(drawTransforms(new Random(TEST_SEED, 7), indices.length))).toEqual(Array.from(transforms));
    const plain = new Float32Array(indices.length * VALUES_PER_IMAGE);
    const moved = new Float32Array(indices.length * VALUES_PER_IMAGE);
    fillImages(dataset, indices, plain);
    fillImages(dataset, indices, moved, transforms);
    const expected = new Float32Array(moved.length);
    indices.forEach((_, i) => {
      const table = sourcePixels(transforms[i], CUTOUT_SIZE);
      const base = i * VALUES_PER_IMAGE;
      for (let p = 0; p < CUTOUT_SIZE ** 2; p++) expected.set(plain.subarray(base + table[p] * 3, base + table[p] * 3 + 3), base + p * 3);
    });
    expect(firstDifference(moved, expected)).toBe(-1);
  });

  it('drawTransforms uses all eight transforms, evenly', () => {
    const counts = new Array(TRANSFORM_COUNT).fill(0);
    for (const k of drawTransforms(new Random(TEST_SEED, 1), 80_000)) counts[k]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(600);
  });
});
