// sdss.hdf5 in and out: the simulator's files round-trip byte for byte, files
// in the layout h5py writes read correctly, and every malformed file gets
// its own one-line InputError.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VALUES_PER_IMAGE } from '../src/data/dataset.ts';
import { readSdssHdf5, writeSdssHdf5 } from '../src/data/hdf5.ts';
import { loadDataset } from '../src/data/load.ts';
import { simulateSurvey } from '../src/data/simulator/survey.ts';
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
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Uint16Array | Float32Array | Float64Array | BigInt64Array;
  shape: number[];
  dtype: string;
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

async function failure(path: string): Promise<string> {
  const error = await readSdssHdf5(path).then(
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
    ['no classes dataset', () => writeFixture('no-classes.hdf5', [good.images]), /no dataset 'classes'.*found: images/],
    ["'images' being a group", () => writeFixture('images-group.hdf5', [good.classes], ['images']), /'images' is a Group, not a dataset/],
    ['float32 images', () => writeFixture('float-images.hdf5', [good.classes, { ...good.images, data: Float32Array.from(pixels, (v) => v / 255), dtype: '<f' }]), /'images' holds float32; expected uint8/],
    ['int8 images', () => writeFixture('int8-images.hdf5', [good.classes, { ...good.images, data: Int8Array.from(pixels, (v) => v - 128), dtype: '<b' }]), /'images' holds int8; expected uint8/],
    ['images of rank 3', () => writeFixture('rank3.hdf5', [good.classes, { ...good.images, shape: [21, 69, 69] }]), /'images' has shape \[21, 69, 69\]; expected \[N, 69, 69, 3\]/],
    ['64×64 images', () => writeFixture('small-images.hdf5', [good.classes, { ...good.images, data: pixels.subarray(0, 7 * 64 * 64 * 3), shape: [7, 64, 64, 3] }]), /'images' has shape \[7, 64, 64, 3\]/],
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
    const dataset = { images: new Uint8Array(VALUES_PER_IMAGE), labels: new Uint8Array(1), scheme: 'binary' as const, ids: ['0'], source: 'a real/not-real folder' };
    await expect(writeSdssHdf5(path, dataset)).rejects.toThrow(/only real\/not-real labels/);
    expect(() => readFileSync(path)).toThrow();
  });
});
