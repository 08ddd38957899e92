// From cutouts to training batches: float32 = uint8 / 255 (float images as
// they are), one-hot labels in each scheme, and the seeded flips and
// rotations, which only move pixels (for a non-square image, only those that
// keep its shape).
import { describe, expect, it } from 'vitest';
import { sourcePixels, drawTransforms, SHAPE_KEEPING_TRANSFORMS, TRANSFORM_COUNT } from '../src/data/augment.ts';
import { checkDataset, fillImages, fillOneHot, inferenceSource, labelsFor, type Dataset } from '../src/data/dataset.ts';
import { CUTOUT_SHAPE, CUTOUT_SIZE, VALUES_PER_IMAGE } from '../src/data/simulator/survey.ts';
import { InputError } from '../src/errors.ts';
import { batchSource } from '../src/train/source.ts';
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
    shape: CUTOUT_SHAPE,
    images: Uint8Array.from({ length: n * VALUES_PER_IMAGE }, () => Math.floor(random() * 256)),
    preprocess: 'scale255',
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

  /** A float32 dataset of n H×W×C samples, pixel values their own index. */
  function floatDataset(n: number, shape: [number, number, number], scheme: Dataset['scheme'] = 'original'): Dataset {
    const values = shape[0] * shape[1] * shape[2];
    return checkDataset({
      shape,
      images: Float32Array.from({ length: n * values }, (_, v) => v - 0.5),
      preprocess: 'none',
      labels: new Uint8Array(n),
      scheme,
      ids: Array.from({ length: n }, (_, i) => `s${i}`),
      source: 'float cutouts',
    });
  }

  it('fillImages copies float images as they are, for any shape, and inferenceSource fills them', () => {
    const shape: [number, number, number] = [5, 7, 2];
    const data = floatDataset(4, shape);
    const values = 5 * 7 * 2;
    const out = new Float32Array(3 * values + 1).fill(NaN);
    fillImages(data, [3, 0, 3], out);
    for (const [i, index] of [3, 0, 3].entries()) {
      expect(firstDifference(out.subarray(i * values, (i + 1) * values), data.images.subarray(index * values, (index + 1) * values))).toBe(-1);
    }
    expect(Number.isNaN(out[3 * values])).toBe(true);
    const source = inferenceSource(data, 2);
    expect(source.count).toBe(4);
    const x = new Float32Array(2 * values);
    source.fill([1, 2], x);
    expect(firstDifference(x, data.images.subarray(values, 3 * values))).toBe(-1);
  });

  it('a non-square image takes only the four transforms that keep its shape: identity, 180°, the two mirrors', () => {
    const [h, w] = [3, 4];
    const at = (y: number, x: number) => y * w + x;
    expect(Array.from(sourcePixels(0, h, w))).toEqual(Array.from({ length: h * w }, (_, p) => p));
    // 180°: (y, x) comes from (h-1-y, w-1-x); mirror left-right: from (y, w-1-x); mirror top-bottom (k = 6): from (h-1-y, x).
    const expectTable = (k: number, from: (y: number, x: number) => number) => {
      const table = sourcePixels(k, h, w);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) expect(table[at(y, x)], `k ${k} at (${y}, ${x})`).toBe(from(y, x));
    };
    expectTable(2, (y, x) => at(h - 1 - y, w - 1 - x));
    expectTable(4, (y, x) => at(y, w - 1 - x));
    expectTable(6, (y, x) => at(h - 1 - y, x));
    // On a square the same k mean the same moves as the eight-way tables.
    for (const k of SHAPE_KEEPING_TRANSFORMS) {
      const square = sourcePixels(k, 5);
      const general = sourcePixels(k, 5, 5);
      expect(Array.from(general)).toEqual(Array.from(square));
    }
    for (const k of [1, 3, 5, 7]) expect(() => sourcePixels(k, h, w)).toThrow(/changes its shape; non-square images take transforms 0, 2, 4, 6 only/);
    const drawn = drawTransforms(new Random(TEST_SEED, 3), 4000, undefined, false);
    const seen = new Set(drawn);
    expect([...seen].sort()).toEqual([0, 2, 4, 6]);
    const data = floatDataset(2, [h, w, 2]);
    const moved = new Float32Array(2 * h * w * 2);
    fillImages(data, [0, 1], moved, Uint8Array.from([6, 2]));
    // Sample 0 mirrored top-bottom: its first pixel is the source's last row, first column.
    expect(Array.from(moved.subarray(0, 2))).toEqual(Array.from(data.images.subarray(at(h - 1, 0) * 2, at(h - 1, 0) * 2 + 2)));
    expect(() => fillImages(data, [0], moved, Uint8Array.from([1]))).toThrow(RangeError);
  });

  it('an unlabelled dataset refuses to give labels, in one line naming it and saying what needs them', () => {
    const data = floatDataset(2, [4, 4, 1], 'unlabelled');
    for (const scheme of LABEL_SCHEMES) {
      let error: unknown;
      try {
        labelsFor(data, scheme);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toMatch(/^float cutouts: unlabelled .*training and evaluation need labels/);
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('checkDataset refuses parts that disagree', () => {
    const good = floatDataset(2, [4, 4, 1]);
    expect(() => checkDataset({ ...good, images: good.images.subarray(1) })).toThrow(RangeError);
    expect(() => checkDataset({ ...good, images: new Uint8Array(32), preprocess: 'braai' })).toThrow(/uint8 images are kept raw for 'scale255' only/);
    expect(() => checkDataset({ ...good, ids: ['a'] })).toThrow(RangeError);
  });

  it('batchSource gives one-hot targets, or one column of 0/1 for a sigmoid head on binary labels', () => {
    const members = Int32Array.from([4, 0, 11]);
    const x = new Float32Array(3 * VALUES_PER_IMAGE);
    const twoWay = batchSource(dataset, 'binary', members);
    expect(twoWay.classes).toBe(2);
    const oneHot = new Float32Array(6);
    twoWay.fill([0, 1, 2], x, oneHot);
    const real = [4, 0, 11].map((i) => labelOf(dataset.labels[i], 'binary'));
    expect(Array.from(oneHot)).toEqual(real.flatMap((r) => (r === 1 ? [0, 1] : [1, 0])));
    const sigmoid = batchSource(dataset, 'binary', members, 1);
    expect(sigmoid.classes).toBe(1);
    const column = new Float32Array(3).fill(NaN);
    sigmoid.fill([0, 1, 2], x, column);
    expect(Array.from(column)).toEqual(real);
    expect(() => batchSource(dataset, 'visual', members, 1)).toThrow(/a model with 1 output cannot learn --labels visual/);
    expect(() => batchSource(dataset, 'original', members, 3)).toThrow(RangeError);
  });
});
