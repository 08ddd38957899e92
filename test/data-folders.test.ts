// Cutout folders: class sub-folders of PNG files, in RGB, grey or RGBA, of
// any one size or resized on request, with one clear error for each
// malformed folder. FITS files in cutout folders: test/data-fits-folders.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelsFor } from '../src/data/dataset.ts';
import { VALUES_PER_IMAGE } from '../src/data/simulator/survey.ts';
import { readCutoutFolder } from '../src/data/folders.ts';
import { loadDataset } from '../src/data/load.ts';
import { InputError } from '../src/errors.ts';
import { rng, TEST_SEED } from './support/random.ts';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'handscan-folders-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const random = rng(TEST_SEED);

/** Random RGBA pixels (alpha 255 unless asked), never all zero. */
function pixels(width: number, height: number, alpha = () => 255): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = 1 + Math.floor(random() * 255);
    data[p * 4 + 3] = alpha();
  }
  return data;
}

/** Writes a PNG (colorType 2 RGB, 0 grey, 6 RGBA) and returns the RGBA it was made from. */
function writePng(path: string, width: number, height: number, colorType: 0 | 2 | 6, alpha?: () => number): Buffer {
  const png = new PNG({ width, height });
  png.data = pixels(width, height, alpha);
  writeFileSync(path, PNG.sync.write(png, { colorType, inputColorType: 6 }));
  return png.data;
}

/** A fresh folder with the given class sub-folders. */
function tree(name: string, classes: string[]): string {
  const path = join(root, name);
  for (const c of classes) mkdirSync(join(path, c), { recursive: true });
  return path;
}

function failure(path: string, options = {}): string {
  let error: unknown;
  try {
    readCutoutFolder(path, options);
  } catch (e) {
    error = e;
  }
  expect(error, `${path} should be rejected`).toBeInstanceOf(InputError);
  expect((error as Error).message).not.toContain('\n');
  return (error as Error).message;
}

describe(`cutout folders (TEST_SEED=${TEST_SEED})`, () => {
  it('reads class folders in any case and spelling, RGB exactly, ordered by class then name', async () => {
    const path = tree('classes', ['sn_gold', 'ARTEFACT', 'Saturated-Star', '.hidden']);
    const gold = writePng(join(path, 'sn_gold', 'b.png'), 69, 69, 2);
    const artefact = writePng(join(path, 'ARTEFACT', 'z.PNG'), 69, 69, 2);
    const saturated = writePng(join(path, 'Saturated-Star', 'a.png'), 69, 69, 2);
    writeFileSync(join(path, 'sn_gold', '.DS_Store'), 'ignored');
    const dataset = await loadDataset(path);
    expect(dataset.scheme).toBe('original');
    expect(Array.from(dataset.labels)).toEqual([0, 2, 9]);
    expect(dataset.ids).toEqual(['ARTEFACT/z.PNG', 'Saturated-Star/a.png', 'sn_gold/b.png']);
    const expected = Uint8Array.from({ length: 3 * VALUES_PER_IMAGE }, (_, v) => {
      const rgba = [artefact, saturated, gold][Math.floor(v / VALUES_PER_IMAGE)];
      const p = Math.floor((v % VALUES_PER_IMAGE) / 3);
      return rgba[p * 4 + (v % 3)];
    });
    expect(Buffer.from(dataset.images).equals(Buffer.from(expected))).toBe(true);
    expect(Array.from(labelsFor(dataset, 'visual'))).toEqual([0, 1, 2]);
  });

  it('reads grey PNGs as equal channels and composites RGBA onto black', () => {
    const path = tree('grey-rgba', ['Variable', 'Moving']);
    writePng(join(path, 'Variable', 'grey.png'), 69, 69, 0);
    const rgba = writePng(join(path, 'Moving', 'rgba.png'), 69, 69, 6, () => Math.floor(random() * 256));
    const dataset = readCutoutFolder(path);
    // Moving (class 3) sorts before Variable (class 4).
    const moving = Uint8Array.from({ length: VALUES_PER_IMAGE }, (_, v) => Math.round((rgba[Math.floor(v / 3) * 4 + (v % 3)] * rgba[Math.floor(v / 3) * 4 + 3]) / 255));
    expect(Buffer.from(dataset.images.subarray(0, VALUES_PER_IMAGE)).equals(Buffer.from(moving))).toBe(true);
    const grey = dataset.images.subarray(VALUES_PER_IMAGE);
    expect(grey.every((v, k) => v === grey[k - (k % 3)])).toBe(true);
  });

  it('reads real / not-real folders as binary labels, usable only with the binary scheme', () => {
    const path = tree('binary', ['real', 'Not Real']);
    writePng(join(path, 'real', 'a.png'), 69, 69, 2);
    writePng(join(path, 'Not Real', 'b.png'), 69, 69, 2);
    const dataset = readCutoutFolder(path);
    expect(dataset.scheme).toBe('binary');
    expect(Array.from(labelsFor(dataset, 'binary'))).toEqual([0, 1]);
    expect(() => labelsFor(dataset, 'original')).toThrow(/labelled only real\/not-real/);
  });

  it('resizes square cutouts on request: a uniform 128×128 image stays uniform at 69×69, or at the size asked', () => {
    const path = tree('resize', ['Transient']);
    const png = new PNG({ width: 128, height: 128 });
    for (let p = 0; p < 128 * 128; p++) png.data.set([200, 100, 50, 255], p * 4);
    writeFileSync(join(path, 'Transient', 'big.png'), PNG.sync.write(png));
    writePng(join(path, 'Transient', 'small.png'), 69, 69, 2);
    expect(failure(path)).toMatch(/small\.png: 69×69 pixels, but .*big\.png is 128×128; every cutout must have one size \(pass --resize/);
    const dataset = readCutoutFolder(path, { resize: true });
    expect(dataset.shape).toEqual([69, 69, 3]);
    expect(dataset.images.length).toBe(2 * VALUES_PER_IMAGE);
    expect(dataset.images.subarray(0, VALUES_PER_IMAGE).every((v, k) => v === [200, 100, 50][k % 3])).toBe(true);
    const sixteen = readCutoutFolder(path, { resize: 16 });
    expect(sixteen.shape).toEqual([16, 16, 3]);
    expect(sixteen.images.subarray(0, 16 * 16 * 3).every((v, k) => v === [200, 100, 50][k % 3])).toBe(true);
  });

  it('reads PNGs of any one size (here 40 wide, 24 high) as 24×40×3, raw under scale255 or through another step', () => {
    const path = tree('oblong-ok', ['real', 'not-real']);
    const a = writePng(join(path, 'real', 'a.png'), 40, 24, 2);
    writePng(join(path, 'not-real', 'b.png'), 40, 24, 2);
    const dataset = readCutoutFolder(path);
    expect(dataset.shape).toEqual([24, 40, 3]);
    expect(dataset.images).toBeInstanceOf(Uint8Array);
    expect(dataset.preprocess).toBe('scale255');
    expect(dataset.ids).toEqual(['not-real/b.png', 'real/a.png']);
    expect(dataset.images[(24 * 40 * 3) + 5]).toBe(a[1 * 4 + 2]);
    const none = readCutoutFolder(path, { preprocess: 'none' });
    expect(none.images).toBeInstanceOf(Float32Array);
    expect(Array.from(none.images)).toEqual(Array.from(dataset.images));
  });

  const bad: [string, () => string, RegExp, object?][] = [
    ['an unknown class folder', () => (writePng(join(tree('unknown', ['Supernova']), 'Supernova', 'a.png'), 69, 69, 2), join(root, 'unknown')), /unknown class folder 'Supernova'; expected one sub-folder per class named Artefact, .*SN Gold.*not-real/],
    ['binary folders mixed with class folders', () => (writePng(join(tree('mixed', ['real', 'Dipole']), 'real', 'a.png'), 69, 69, 2), join(root, 'mixed')), /mixes real\/not-real folders with class folders/],
    ['two folders for one class', () => tree('twins', ['SN Gold', 'sn_gold']), /folders 'SN Gold' and 'sn_gold' name the same class/],
    ['a file that is not a cutout', () => (writeFileSync(join(tree('jpeg', ['Dipole']), 'Dipole', 'a.jpg'), 'x'), join(root, 'jpeg')), /a\.jpg: not a cutout file; class folders hold PNG \(\.png\), FITS \(\.fits, \.fit, \.fts, each also \.gz\) and alert packet \(\.avro\) files$/],
    ['a corrupt PNG', () => (writeFileSync(join(tree('corrupt', ['Dipole']), 'Dipole', 'a.png'), 'not a png'), join(root, 'corrupt')), /a\.png: not a readable PNG/],
    [
      'cutouts of two sizes',
      () => (writePng(join(tree('small', ['Dipole', 'Artefact']), 'Dipole', 'a.png'), 64, 64, 2), writePng(join(root, 'small', 'Artefact', 'b.png'), 69, 69, 2), join(root, 'small')),
      /Dipole\/a\.png: 64×64 pixels, but .*Artefact\/b\.png is 69×69; every cutout must have one size \(pass --resize to resample square cutouts to 69×69\)$/,
    ],
    ['a non-square cutout, with resizing', () => (writePng(join(tree('oblong', ['Dipole']), 'Dipole', 'a.png'), 69, 80, 2), join(root, 'oblong')), /a\.png: 69×80 pixels, not square, so it cannot be resampled to 69×69/, { resize: true }],
    ['a file beside the class folders', () => (writeFileSync(join(tree('loose', ['Dipole']), 'notes.txt'), 'x'), join(root, 'loose')), /notes\.txt: a file at the top of a cutout folder/],
    ['an empty folder', () => tree('empty', ['Dipole']), /no cutouts found \(PNG, FITS or \.avro files\)/],
  ];
  for (const [what, make, expected, options] of bad) {
    it(`rejects ${what} with one clear line`, () => {
      expect(failure(make(), options)).toMatch(expected);
    });
  }

  it('loadDataset names a missing path and every kind of data it takes', async () => {
    await expect(loadDataset(join(root, 'nowhere'))).rejects.toThrow(
      /nowhere: no such file or folder; expected an HDF5 file \(\.hdf5, \.h5\) in the sdss\.hdf5 layout, a folder of class sub-folders \(PNG, FITS or \.avro cutouts\), an alert packet file \(\.avro\), a folder of \.avro files, or a glob pattern of \.avro files/,
    );
  });
});
