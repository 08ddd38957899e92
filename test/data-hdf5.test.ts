// sdss.hdf5 in and out: the simulator's files round-trip byte for byte, files
// in the layout h5py writes read correctly (uint8, float32 and float64
// images of any size and channel count, with or without classes and ids),
// and every malformed file gets its own one-line InputError.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelsFor, type Dataset } from '../src/data/dataset.ts';
import { readSdssHdf5, writeSdssHdf5 } from '../src/data/hdf5.ts';
import { loadDataset } from '../src/data/load.ts';
import { CUTOUT_SHAPE, simulateSurvey, VALUES_PER_IMAGE } from '../src/data/simulator/survey.ts';
import { InputError } from '../src/errors.ts';
import { rng, TEST_SEED } from './support/random.ts';

let folder: string;
beforeAll(async () => {
  await h5wasm.ready;
  folder = mkdtempSync(join(tmpdir(), 'handscan-hdf5-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Random cutouts and classes, as a NumPy user would have them. */
function randomContents(n: number) {
  const random = rng(TEST_SEED);
  const images = Uint8Array.from({ length: n * VALUES_PER_IMAGE }, () => Math.floor(random() * 256));
  const classes = Array.from({ length: n }, () => Math.floor(random() * 10));
  return { images, classes };
}

interface FixtureDataset {
  name: string;
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Uint16Array | Float32Array | Float64Array | BigInt64Array | string[];
  shape: number[];
  dtype?: string;
  chunks?: number[];
  compression?: 'gzip';
}

/**
 * A file as h5py writes one: HDF5's default library bounds (superblock 0,
 * version-1 object headers), contiguous datasets unless chunks are asked for.
 */
function writeFixture(name: string, datasets: FixtureDataset[], groups: string[] = []): string {
  const path = join(folder, name);
  const file = new h5wasm.File(path, 'w', { libver: ['earliest', 'latest'] });
  for (const group of groups) file.create_group(group);
  for (const d of datasets) file.create_dataset(d);
  file.close();
  return path;
}

const images = (data: Uint8Array, n: number): FixtureDataset => ({ name: 'images', data, shape: [n, 69, 69, 3], dtype: '<B' });

async function failure(path: string, options = {}): Promise<string> {
  const error = await readSdssHdf5(path, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `${path} should be rejected`).toBeInstanceOf(InputError);
  const message = (error as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

describe(`sdss.hdf5 (TEST_SEED=${TEST_SEED})`, () => {
  it('a simulated survey written and read back is identical, byte for byte, and so is a second file of it', async () => {
    const survey = simulateSurvey({ seed: TEST_SEED, counts: [3, 3, 3, 3, 3, 3, 3, 3, 3, 3], difficulty: 0.5 });
    const first = join(folder, 'survey.hdf5');
    const second = join(folder, 'survey-again.hdf5');
    await writeSdssHdf5(first, survey, { seed: TEST_SEED });
    await writeSdssHdf5(second, survey, { seed: TEST_SEED });
    const back = await readSdssHdf5(first);
    expect(Buffer.compare(Buffer.from(back.images), Buffer.from(survey.images))).toBe(0);
    expect(Array.from(back.labels)).toEqual(Array.from(survey.labels));
    expect(back.scheme).toBe('original');
    expect(back.ids).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    // HDF5 stamps headers with the time; the writer pins the clock so files depend on contents only.
    expect(readFileSync(first).equals(readFileSync(second))).toBe(true);
    const file = new h5wasm.File(first, 'r');
    expect((file.get('classes') as InstanceType<typeof h5wasm.Dataset>).dtype).toBe('<q');
    expect(file.attrs.seed.value).toBe(TEST_SEED);
    file.close();
  });

  const { images: pixels, classes } = randomContents(7);
  const cases: [string, FixtureDataset['data'], string][] = [
    ['int64 (NumPy default)', BigInt64Array.from(classes, BigInt), '<q'],
    ['int32', Int32Array.from(classes), '<i'],
    ['uint8', Uint8Array.from(classes), '<B'],
    ['int16', Int16Array.from(classes), '<h'],
    ['uint16', Uint16Array.from(classes), '<H'],
  ];
  for (const [label, data, dtype] of cases) {
    it(`reads h5py's layout with ${label} classes`, async () => {
      const path = writeFixture(`h5py-${dtype.slice(1)}.hdf5`, [{ name: 'classes', data, shape: [7], dtype }, images(pixels, 7)]);
      const dataset = await loadDataset(path);
      expect(Array.from(dataset.labels)).toEqual(classes);
      expect(Buffer.from(dataset.images).equals(Buffer.from(pixels))).toBe(true);
    });
  }

  it("reads gzip-compressed, chunked images (h5py's compression='gzip')", async () => {
    const path = writeFixture('h5py-gzip.hdf5', [
      { ...images(pixels, 7), chunks: [2, 69, 69, 3], compression: 'gzip' },
      { name: 'classes', data: BigInt64Array.from(classes, BigInt), shape: [7], dtype: '<q' },
    ]);
    const dataset = await readSdssHdf5(path);
    expect(Buffer.from(dataset.images).equals(Buffer.from(pixels))).toBe(true);
  });

  it("reads big-endian classes (h5py's dtype='>i4')", async () => {
    // h5wasm writes only little-endian, so the fixture's bytes are written
    // pre-swapped and its datatype message (version 1, fixed-point, signed)
    // is then flipped to big-endian: bit 0 of the class bit field.
    const swapped = Int32Array.from(classes, (c) => ((c & 0xff) << 24) | (((c >>> 8) & 0xff) << 16));
    const path = writeFixture('h5py-big-endian.hdf5', [images(pixels, 7), { name: 'classes', data: swapped, shape: [7], dtype: '<i' }]);
    const bytes = readFileSync(path);
    const int32LittleEndian = Buffer.from([0x10, 0x08, 0, 0, 4, 0, 0, 0, 0, 0, 32, 0]);
    const at = bytes.indexOf(int32LittleEndian);
    expect(at).toBeGreaterThan(0);
    expect(bytes.indexOf(int32LittleEndian, at + 1)).toBe(-1);
    bytes[at + 1] |= 1;
    writeFileSync(path, bytes);
    expect(Array.from((await readSdssHdf5(path)).labels)).toEqual(classes);
  });

  const good = { images: images(pixels, 7), classes: { name: 'classes', data: BigInt64Array.from(classes, BigInt), shape: [7], dtype: '<q' } as FixtureDataset };
  const bad: [string, () => string, RegExp][] = [
    ['a missing file', () => join(folder, 'nowhere.hdf5'), /no such file/],
    ['a file that is not HDF5', () => (writeFileSync(join(folder, 'text.hdf5'), 'images,classes\n'), join(folder, 'text.hdf5')), /not an HDF5 file/],
    [
      'a truncated file',
      () => {
        const whole = readFileSync(writeFixture('whole.hdf5', [good.images, good.classes]));
        writeFileSync(join(folder, 'truncated.hdf5'), whole.subarray(0, 4096));
        return join(folder, 'truncated.hdf5');
      },
      /unreadable HDF5 \(truncated file/,
    ],
    ['no images dataset', () => writeFixture('no-images.hdf5', [good.classes]), /no dataset 'images'.*found: classes/],
    ["'images' being a group", () => writeFixture('images-group.hdf5', [good.classes], ['images']), /'images' is a Group, not a dataset/],
    ['int8 images', () => writeFixture('int8-images.hdf5', [good.classes, { ...good.images, data: Int8Array.from(pixels, (v) => v - 128), dtype: '<b' }]), /'images' holds int8; expected uint8 \(0-255 composites\), float32 or float64 pixels/],
    ['int16 images', () => writeFixture('int16-images.hdf5', [good.classes, { ...good.images, data: Int16Array.from(pixels), dtype: '<h' }]), /'images' holds int16; expected uint8/],
    ['images of rank 3 with too few images', () => writeFixture('rank3.hdf5', [good.classes, { ...good.images, shape: [21, 69, 69] }]), /'images' holds 21 cutouts but 'classes' holds 7 labels/],
    ['images of rank 2', () => writeFixture('rank2.hdf5', [good.classes, { ...good.images, shape: [7, 69 * 69 * 3] }]), /'images' has shape \[7, 14283\]; expected \[N, H, W, C\] or \[N, H, W\]/],
    ['images of rank 5', () => writeFixture('rank5.hdf5', [good.classes, { ...good.images, shape: [7, 69, 69, 3, 1] }]), /'images' has shape \[7, 69, 69, 3, 1\]; expected/],
    ['ids of another length', () => writeFixture('short-ids.hdf5', [good.classes, good.images, { name: 'ids', data: Int32Array.from([1, 2, 3]), shape: [3], dtype: '<i' }]), /'ids' holds 3 ids but 'images' holds 7 cutouts/],
    ['float ids', () => writeFixture('float-ids.hdf5', [good.classes, good.images, { name: 'ids', data: new Float64Array(7), shape: [7], dtype: '<d' }]), /'ids' holds float64; expected integers or strings/],
    ['no images in an unlabelled file', () => writeFixture('empty-unlabelled.hdf5', [{ ...good.images, data: new Uint8Array(0), shape: [0, 69, 69, 3] }]), /'images' is empty; expected at least one sample/],
    ['more labels than images', () => writeFixture('mismatch.hdf5', [images(pixels.subarray(0, 6 * VALUES_PER_IMAGE), 6), good.classes]), /holds 6 cutouts but 'classes' holds 7 labels/],
    ['float classes', () => writeFixture('float-classes.hdf5', [good.images, { name: 'classes', data: Float64Array.from(classes), shape: [7], dtype: '<d' }]), /'classes' holds float64; expected integers 0-9/],
    ['NaN classes', () => writeFixture('nan-classes.hdf5', [good.images, { name: 'classes', data: Float32Array.from(classes, () => NaN), shape: [7], dtype: '<f' }]), /'classes' holds float32/],
    ['one-hot classes (rank 2)', () => writeFixture('onehot.hdf5', [good.images, { name: 'classes', data: new Int32Array(70), shape: [7, 10], dtype: '<i' }]), /'classes' has shape \[7, 10\]; expected \(N\)/],
    ['a class of 10', () => writeFixture('class10.hdf5', [good.images, { ...good.classes, data: BigInt64Array.from([...classes.slice(0, 3), 10, ...classes.slice(4)], BigInt) }]), /'classes'\[3\] is 10 \(1 value outside 0-9\)/],
    ['negative classes', () => writeFixture('negative.hdf5', [good.images, { name: 'classes', data: Int32Array.from(classes, () => -1), shape: [7], dtype: '<i' }]), /'classes'\[0\] is -1 \(7 values outside 0-9\)/],
    ['no samples', () => writeFixture('empty.hdf5', [{ ...good.images, data: new Uint8Array(0), shape: [0, 69, 69, 3] }, { ...good.classes, data: new BigInt64Array(0), shape: [0] }]), /'classes' is empty/],
  ];
  for (const [what, make, expected] of bad) {
    it(`rejects ${what} with one clear line`, async () => {
      expect(await failure(make())).toMatch(expected);
    });
  }

  it('refuses to write binary-only labels as sdss.hdf5, and leaves nothing behind', async () => {
    const path = join(folder, 'binary.hdf5');
    const dataset: Dataset = { shape: CUTOUT_SHAPE, images: new Uint8Array(VALUES_PER_IMAGE), preprocess: 'scale255', labels: new Uint8Array(1), scheme: 'binary', ids: ['0'], source: 'a real/not-real folder' };
    await expect(writeSdssHdf5(path, dataset)).rejects.toThrow(/only real\/not-real labels/);
    expect(() => readFileSync(path)).toThrow();
  });

  describe('images of any size, channel count and pixel type', () => {
    // 2 samples of 21×17×2, pixel (r, c) of channel k of sample n = n + r / 10 + c / 100 + k / 1000 (not all exact in float32).
    const shape = [2, 21, 17, 2];
    const value = (v: number) => {
      const k = v % 2;
      const c = Math.floor(v / 2) % 17;
      const r = Math.floor(v / 34) % 21;
      const n = Math.floor(v / (34 * 21));
      return n + r / 10 + c / 100 + k / 1000;
    };
    const float64 = Float64Array.from({ length: 2 * 21 * 17 * 2 }, (_, v) => value(v));

    it('float64 images with string ids and no classes: unlabelled, rounded to float32, then the step ("none")', async () => {
      const path = writeFixture('float64.hdf5', [
        { name: 'images', data: float64, shape, dtype: '<d' },
        { name: 'ids', data: ['ZTF24aaaaaaa', 'ZTF24aaaaaab'], shape: [2] },
      ]);
      const dataset = await loadDataset(path, { preprocess: 'none' });
      expect(dataset.shape).toEqual([21, 17, 2]);
      expect(dataset.images).toBeInstanceOf(Float32Array);
      expect(dataset.preprocess).toBe('none');
      expect(dataset.scheme).toBe('unlabelled');
      expect(Array.from(dataset.labels)).toEqual([0, 0]);
      expect(dataset.ids).toEqual(['ZTF24aaaaaaa', 'ZTF24aaaaaab']);
      expect(Array.from(dataset.images)).toEqual(Array.from(Float32Array.from(float64)));
      expect(() => labelsFor(dataset, 'binary')).toThrow(new RegExp(`^${path.replace(/[.\\/]/g, '\\$&')}: unlabelled .*training and evaluation need labels`));
    });

    it('float32 images of one channel (N×H×W) with int64 ids past 2^53, classes given, as the default scale255', async () => {
      const float32 = Float32Array.from({ length: 3 * 4 * 5 }, (_, v) => (v * 7) % 256);
      const path = writeFixture('float32.hdf5', [
        { name: 'images', data: float32, shape: [3, 4, 5], dtype: '<f' },
        { name: 'classes', data: BigInt64Array.from([9n, 0n, 3n]), shape: [3], dtype: '<q' },
        { name: 'ids', data: BigInt64Array.from([2475433850415015002n, 1n, -5n]), shape: [3], dtype: '<q' },
      ]);
      const dataset = await readSdssHdf5(path);
      expect(dataset.shape).toEqual([4, 5, 1]);
      expect(dataset.preprocess).toBe('scale255');
      expect(dataset.scheme).toBe('original');
      expect(dataset.ids).toEqual(['2475433850415015002', '1', '-5']);
      expect(Array.from(dataset.labels)).toEqual([9, 0, 3]);
      expect(Array.from(dataset.images)).toEqual(Array.from(float32, (v) => Math.fround(v / 255)));
      // 32-bit integer ids read the same way.
      const int32 = writeFixture('int32-ids.hdf5', [
        { name: 'images', data: float32, shape: [3, 4, 5], dtype: '<f' },
        { name: 'ids', data: Int32Array.from([7, 8, 9]), shape: [3], dtype: '<i' },
      ]);
      expect((await readSdssHdf5(int32)).ids).toEqual(['7', '8', '9']);
    });

    it('scale255 of float pixels outside 0..255 is refused, naming the sample and the pixel', async () => {
      const path = writeFixture('float-big.hdf5', [
        { name: 'images', data: float64, shape, dtype: '<d' },
        { name: 'ids', data: ['first', 'second'], shape: [2] },
      ]);
      const scaled = await readSdssHdf5(path);
      expect(scaled.images[0]).toBe(0);
      const big = Float64Array.from(float64, (v, i) => (i === 2 * 21 * 17 * 2 - 1 ? 300 : v));
      const bad = writeFixture('float-300.hdf5', [
        { name: 'images', data: big, shape, dtype: '<d' },
        { name: 'ids', data: ['first', 'second'], shape: [2] },
      ]);
      expect(await failure(bad)).toMatch(/float-300\.hdf5: sample second: scale255: channel 1 has 300 at row 20, column 16: expected a value in 0\.\.255/);
      expect(await failure(path, { preprocess: 'braai' })).toMatch(/float-big\.hdf5: sample first: braai: expected 3 cutouts \(science, reference, difference\), got 2$/);
      expect(await failure(path, { preprocess: 'zscale' })).toMatch(/'zscale' is a display stretch, for people; a dataset's preprocessing must be a network input: one of scale255, braai, braai-rows, none/);
    });

    it('uint8 images of another size stay uint8 under scale255; another step makes them float32', async () => {
      const raw = Uint8Array.from({ length: 2 * 63 * 63 * 3 }, (_, v) => 1 + (v % 250));
      const path = writeFixture('uint8-63.hdf5', [{ name: 'images', data: raw, shape: [2, 63, 63, 3], dtype: '<B' }]);
      const kept = await readSdssHdf5(path);
      expect(kept.images).toBeInstanceOf(Uint8Array);
      expect(kept.shape).toEqual([63, 63, 3]);
      expect(Buffer.from(kept.images).equals(Buffer.from(raw))).toBe(true);
      const braai = await readSdssHdf5(path, { preprocess: 'braai' });
      expect(braai.images).toBeInstanceOf(Float32Array);
      expect(braai.shape).toEqual([63, 63, 3]);
      // Each channel of each sample has unit L2 norm.
      let sum = 0;
      for (let p = 0; p < 63 * 63; p++) sum += braai.images[p * 3] ** 2;
      expect(sum).toBeCloseTo(1, 5);
    });

    it('writes and reads back any shape as float32, with string ids and no classes', async () => {
      const dataset: Dataset = {
        shape: [21, 17, 2],
        images: Float32Array.from(float64),
        preprocess: 'none',
        labels: new Uint8Array(2),
        scheme: 'unlabelled',
        ids: ['a', 'b'],
        source: 'float data',
      };
      const path = join(folder, 'written-float.hdf5');
      await writeSdssHdf5(path, dataset);
      const back = await readSdssHdf5(path, { preprocess: 'none' });
      expect(back.shape).toEqual([21, 17, 2]);
      expect(back.scheme).toBe('unlabelled');
      expect(back.ids).toEqual(['a', 'b']);
      expect(Array.from(back.images)).toEqual(Array.from(dataset.images));
      const file = new h5wasm.File(path, 'r');
      expect(file.keys().sort()).toEqual(['ids', 'images']);
      expect(file.attrs.preprocess.value).toBe('none');
      file.close();
    });
  });
});
