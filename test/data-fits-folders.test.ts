// FITS files in cutout folders, in each of the three layouts a sample may
// take (a 3-D cube; several 2-D image HDUs in one file; files sharing a stem
// with channel suffixes), written here with test/support/fits-write.ts, read back
// to known pixels through the 'none' and 'braai' steps; and one clear line
// for each malformed sample.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dataset } from '../src/data/dataset.ts';
import { readCutoutFolder, type FolderOptions } from '../src/data/folders.ts';
import { writeFits, type FitsImage } from './support/fits-write.ts';
import { loadDataset } from '../src/data/load.ts';
import { BRAAI_PAD } from '../src/data/preprocess.ts';
import { InputError } from '../src/errors.ts';
import { rng, TEST_SEED } from './support/random.ts';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'handscan-fits-folders-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const random = rng(TEST_SEED);
const ROWS = 4;
const COLS = 5;

/** A rows×cols plane of float32 values around a sky level, never all zero. */
function plane(rows = ROWS, cols = COLS): Float32Array {
  return Float32Array.from({ length: rows * cols }, () => Math.fround(10 + 100 * random()));
}

const float32 = (image: FitsImage) => writeFits(image, { bitpix: -32 });

/** A FITS file's bytes with `image` in an IMAGE extension instead of the primary HDU (2-D images only). */
function asExtension(image: FitsImage): Buffer {
  const fits = Buffer.from(float32(image));
  const cards = (fits.toString('latin1', 0, 2880).match(/.{80}/g) ?? []).map((c) => c.trimEnd());
  cards.splice(cards.indexOf('END') + 1);
  const card = (keyword: string, value: string) => `${keyword.padEnd(8)}= ${value.padStart(20)}`;
  const header = ["XTENSION= 'IMAGE   '", ...cards.slice(1, 5), card('PCOUNT', '0'), card('GCOUNT', '1'), ...cards.slice(5)];
  return Buffer.concat([Buffer.from(header.map((c) => c.padEnd(80)).join('').padEnd(2880), 'latin1'), fits.subarray(2880)]);
}

/** A fresh folder with the given class sub-folders; returns its path. */
function tree(name: string, classes: string[]): string {
  const path = join(root, name);
  for (const c of classes) mkdirSync(join(path, c), { recursive: true });
  return path;
}

/** Interleaves planes into H×W×C, as the 'none' step gives them. */
function interleave(planes: Float32Array[]): Float32Array {
  const out = new Float32Array(planes[0].length * planes.length);
  planes.forEach((p, k) => p.forEach((v, i) => (out[i * planes.length + k] = v)));
  return out;
}

/** What braai makes of three planes: each divided by its L2 norm (NaN as 0), padded with 1e-9 to 63×63, float32. */
function braaiOf(planes: Float32Array[], rows = ROWS, cols = COLS): Float32Array {
  const out = new Float32Array(63 * 63 * 3).fill(BRAAI_PAD);
  planes.forEach((p, k) => {
    const x = Array.from(p, (v) => (Number.isNaN(v) ? 0 : v));
    const norm = Math.sqrt(x.reduce((a, v) => a + v * v, 0));
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[(r * 63 + c) * 3 + k] = x[r * cols + c] / norm;
  });
  return out;
}

function sample(dataset: Dataset, index: number): Float32Array {
  const values = dataset.shape[0] * dataset.shape[1] * dataset.shape[2];
  return dataset.images.subarray(index * values, (index + 1) * values) as Float32Array;
}

/** The first index where a and b differ beyond 1 ulp of float32 (-1 if none). */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && Math.abs(a[i] - b[i]) > 1.2e-7 * Math.abs(b[i])) return i;
  return -1;
}

describe(`FITS cutout folders (TEST_SEED=${TEST_SEED})`, () => {
  // One sample in each layout, in class folders: a cube (a), three HDUs (b), a sci/ref/diff stem and a g/r/i stem (c).
  const cube = [plane(), plane(), plane()];
  const hdus = [plane(), plane(), plane()];
  const triplet = [plane(), plane(), plane()];
  const bands = [plane(), plane(), plane()];
  // 16-bit counts with BSCALE, BZERO and a BLANK pixel, as survey cutouts are often stored.
  const counts = Float32Array.from({ length: ROWS * COLS }, (_, i) => (i === 7 ? NaN : 1000 + 2 * i));
  /** Writes one sample of each layout; field_r as given. */
  function writeLayouts(name: string, fieldR: Uint8Array): string {
    const path = tree(name, ['real', 'not-real']);
    writeFileSync(join(path, 'real', 'cube.fits'), float32({ shape: [3, ROWS, COLS], data: interleaveCube(cube) }));
    writeFileSync(join(path, 'real', 'hdus.fit'), Buffer.concat([Buffer.from(float32({ shape: [ROWS, COLS], data: hdus[0] })), asExtension({ shape: [ROWS, COLS], data: hdus[1] }), asExtension({ shape: [ROWS, COLS], data: hdus[2] })]));
    writeFileSync(join(path, 'not-real', 'cand_sci.fits'), float32({ shape: [ROWS, COLS], data: triplet[0] }));
    writeFileSync(join(path, 'not-real', 'cand_template.fits.gz'), gzipSync(float32({ shape: [ROWS, COLS], data: triplet[1] })));
    writeFileSync(join(path, 'not-real', 'cand_difference.fts'), float32({ shape: [ROWS, COLS], data: triplet[2] }));
    writeFileSync(join(path, 'not-real', 'field_g.fts.gz'), gzipSync(float32({ shape: [ROWS, COLS], data: bands[0] })));
    writeFileSync(join(path, 'not-real', 'field_r.fits'), fieldR);
    writeFileSync(join(path, 'not-real', 'field_i.fits'), float32({ shape: [ROWS, COLS], data: bands[2] }));
    return path;
  }
  /** A cube's data: plane k, then row, then column. */
  function interleaveCube(planes: Float32Array[]): Float32Array {
    const out = new Float32Array(planes.length * ROWS * COLS);
    planes.forEach((p, k) => out.set(p, k * ROWS * COLS));
    return out;
  }
  let path: string;
  beforeAll(() => {
    path = writeLayouts('layouts', writeFits({ shape: [ROWS, COLS], data: counts }, { bitpix: 16, bscale: 0.5, bzero: 1000, blank: -32768 }));
  });

  it("reads each layout as one 3-channel sample, ordered by class then name; 'none' gives the pixels as written", async () => {
    const clean = writeLayouts('layouts-float', float32({ shape: [ROWS, COLS], data: bands[1] }));
    const dataset = await loadDataset(clean, { preprocess: 'none' });
    expect(dataset.scheme).toBe('binary');
    expect(dataset.shape).toEqual([ROWS, COLS, 3]);
    expect(dataset.images).toBeInstanceOf(Float32Array);
    expect(dataset.ids).toEqual(['not-real/cand', 'not-real/field', 'real/cube.fits', 'real/hdus.fit']);
    expect(Array.from(dataset.labels)).toEqual([0, 0, 1, 1]);
    [triplet, bands, cube, hdus].forEach((planes, i) => expect(firstDifference(sample(dataset, i), interleave(planes)), dataset.ids[i]).toBe(-1));
  });

  it("'braai' normalises each channel and pads to 63×63; BSCALE/BZERO are applied and BLANK (NaN) becomes 0", () => {
    const dataset = readCutoutFolder(path, { preprocess: 'braai' });
    expect(dataset.shape).toEqual([63, 63, 3]);
    expect(dataset.preprocess).toBe('braai');
    // field_r's physical values: 1000 + 0.5 × round((v − 1000) / 0.5) = v, NaN at its BLANK pixel.
    const expected = [triplet, [bands[0], counts, bands[2]], cube, hdus].map((planes) => braaiOf(planes));
    expected.forEach((e, i) => expect(firstDifference(sample(dataset, i), e), dataset.ids[i]).toBe(-1));
    expect(sample(dataset, 1)[(1 * 63 + 2) * 3 + 1]).toBe(0);
  });

  it("'none' refuses the BLANK pixel, naming the files of the stem and the pixel", () => {
    expect(() => readCutoutFolder(path, { preprocess: 'none' })).toThrow(/field \(field_g\.fts\.gz, field_r\.fits, field_i\.fits\): none: channel 1 has NaN at row 1, column 2: expected finite pixels/);
  });

  it('scale255 of FITS pixels outside 0..255 is refused with the step\'s message; inside, they join PNGs as float32', () => {
    expect(() => readCutoutFolder(path)).toThrow(/scale255: channel \d has .* expected a value in 0\.\.255/);
    const mixed = tree('mixed-png-fits', ['Dipole']);
    const rgb = Float32Array.from({ length: ROWS * COLS * 3 }, (_, v) => (v * 11) % 256);
    const png = new PNG({ width: COLS, height: ROWS });
    for (let p = 0; p < ROWS * COLS; p++) png.data.set([rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2], 255], 4 * p);
    writeFileSync(join(mixed, 'Dipole', 'a.png'), PNG.sync.write(png));
    const planes = [0, 1, 2].map((k) => Float32Array.from({ length: ROWS * COLS }, (_, i) => (i * 3 + k * 40) % 256));
    writeFileSync(join(mixed, 'Dipole', 'b.fits'), float32({ shape: [3, ROWS, COLS], data: interleaveCube(planes) }));
    const dataset = readCutoutFolder(mixed);
    expect(dataset.images).toBeInstanceOf(Float32Array);
    expect(dataset.preprocess).toBe('scale255');
    expect(Array.from(sample(dataset, 0))).toEqual(Array.from(rgb, (v) => Math.fround(v / 255)));
    expect(Array.from(sample(dataset, 1))).toEqual(Array.from(interleave(planes), (v) => Math.fround(v / 255)));
  });

  /** Writes files into a fresh one-class folder and returns the folder's error message. */
  function failure(name: string, files: Record<string, Uint8Array>, options: FolderOptions = {}): string {
    const folder = tree(name, ['Artefact']);
    for (const [file, bytes] of Object.entries(files)) writeFileSync(join(folder, 'Artefact', file), bytes);
    let error: unknown;
    try {
      readCutoutFolder(folder, options);
    } catch (e) {
      error = e;
    }
    expect(error, `${name} should be rejected`).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    // Every message begins with the file or stem at fault.
    expect(message.startsWith(join(folder, 'Artefact', '')), message).toBe(true);
    return message;
  }
  const image = () => float32({ shape: [ROWS, COLS], data: plane() });

  it('refuses a stem missing one of its three suffixes, naming the stem', async () => {
    const message = failure('missing-diff', { 'x_sci.fits': image(), 'x_ref.fits': image() });
    expect(message).toMatch(/Artefact\/x: FITS files x_ref\.fits, x_sci\.fits but none for _diff\/_difference; files sharing a stem need all three channels, _sci, _ref, _diff \(science, reference, difference\)$/);
    expect(failure('missing-i', { 'y_g.fits': image(), 'y_r.fits.gz': gzipSync(image()) })).toMatch(/Artefact\/y: FITS files y_g\.fits, y_r\.fits\.gz but none for _i; /);
  });

  it('refuses a stem with two files for one channel, or suffixes of both sets', async () => {
    expect(failure('twin', { 'x_sci.fits': image(), 'x_ref.fits': image(), 'x_template.fits': image(), 'x_diff.fits': image() })).toMatch(
      /Artefact\/x: two files for one channel, x_ref\.fits and x_template\.fits; keep one$/,
    );
    expect(failure('both-sets', { 'x_sci.fits': image(), 'x_g.fits': image() })).toMatch(/Artefact\/x: files with suffixes of both sets \(x_g\.fits and x_sci\.fits\)/);
  });

  it('refuses samples of different shapes, naming the sample and both shapes', async () => {
    const message = failure('shapes', { 'a.fits': float32({ shape: [3, ROWS, COLS], data: new Float32Array(3 * ROWS * COLS).fill(1) }), 'b.fits': float32({ shape: [3, ROWS, COLS + 1], data: new Float32Array(3 * ROWS * (COLS + 1)).fill(1) }) }, { preprocess: 'none' });
    expect(message).toMatch(/Artefact\/b\.fits: 4×6×3 after 'none', but the first sample, .*Artefact\/a\.fits, is 4×5×3; every sample must have one shape$/);
  });

  it('refuses a FITS file without image data, a 4-D image, and a corrupt file, each naming it', async () => {
    expect(failure('no-data', { 'a.fits': writeFits({ shape: [], data: [] }, { bitpix: -32 }) })).toMatch(/a\.fits: no image data in any HDU/);
    expect(failure('four-d', { 'a.fits': float32({ shape: [1, 2, 2, 2], data: new Float32Array(8) }) })).toMatch(/a\.fits: HDU 0 is 1×2×2×2 \(4-D\); expected a 2-D image or a 3-D cube/);
    expect(failure('corrupt', { 'a.fits': Buffer.from('SIMPLE  = nonsense') })).toMatch(/a\.fits: /);
    expect(failure('cube-in-stem', { 'x_g.fits': float32({ shape: [2, ROWS, COLS], data: new Float32Array(2 * ROWS * COLS) }), 'x_r.fits': image(), 'x_i.fits': image() })).toMatch(
      /x_g\.fits: a 2×4×5 image; expected one 2-D image, a channel of the files sharing its stem$/,
    );
  });

  it('a step error names the sample: braai of a 2-channel cube', async () => {
    expect(failure('two-channels', { 'a.fits': float32({ shape: [2, ROWS, COLS], data: new Float32Array(2 * ROWS * COLS).fill(1) }) }, { preprocess: 'braai' })).toMatch(
      /Artefact\/a\.fits: braai: expected 3 cutouts \(science, reference, difference\), got 2$/,
    );
  });
});

