// Alert packets as datasets: a real ZTF packet (test/fixtures/README.md) and
// files re-encoded from it with avsc, some packets broken, read as a single
// .avro file, a folder of them, a glob pattern, and inside a class folder.
// A bad packet is skipped, reported with its candid and counted; a corrupt
// file, a pattern that matches nothing, or a set with no usable packet is a
// one-line InputError naming it.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAlerts } from '../src/data/alerts.ts';
import { readAvroContainer } from '../src/data/avro-container.ts';
import { labelsFor } from '../src/data/dataset.ts';
import { writeFits } from './support/fits-write.ts';
import { expandGlob, loadDataset } from '../src/data/load.ts';
import { braai } from '../src/data/preprocess.ts';
import { bundleCore } from '../scripts/build-web.ts';
import { container } from './support/avro-file.ts';
import { inputError } from './support/input-error.ts';
import { TEST_SEED } from './support/random.ts';

const FIXTURE = new URL('./fixtures/ztf/2475433850415015002.avro', import.meta.url).pathname;
const CANDID = '2475433850415015002';
const packet = readFileSync(FIXTURE);
type AvroRecord = Record<string, unknown>;

let root: string;
let folder: string;
/** The packet file with four records: good, corrupt science stamp, good, a 64×64 science stamp (too large for braai). */
let mixed: string;
const { type, records } = readAvroContainer(packet, 'fixture');
const real = records[0] as AvroRecord;
const withCandid = (candid: bigint, changes: AvroRecord = {}) => ({ ...real, candid, candidate: { ...(real.candidate as AvroRecord), candid }, ...changes });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'handscan-alert-sets-'));
  folder = join(root, 'alerts');
  mkdirSync(folder);
  copyFileSync(FIXTURE, join(folder, `${CANDID}.avro`));
  const science = (real.cutoutScience as { stampData: Buffer }).stampData;
  const corrupt = Buffer.from(science);
  corrupt[corrupt.length - 8] ^= 0xff;
  const large = gzipSync(writeFits({ shape: [64, 64], data: Float32Array.from({ length: 64 * 64 }, (_, i) => 1 + (i % 7)) }, { bitpix: -32 }));
  mixed = join(folder, 'mixed.avro');
  writeFileSync(
    mixed,
    await container(type, [
      withCandid(1001n),
      withCandid(1002n, { cutoutScience: { fileName: 'bad.fits.gz', stampData: corrupt } }),
      withCandid(1003n),
      withCandid(1004n, { cutoutScience: { fileName: 'big.fits.gz', stampData: large } }),
    ]),
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Loads with braai, collecting what onSkipped is told. */
async function load(path: string, preprocess: 'braai' | 'scale255' | 'none' = 'braai') {
  const reported: [string, string][] = [];
  const dataset = await loadDataset(path, { preprocess, onSkipped: (id, reason) => reported.push([id, reason]) });
  return { dataset, reported };
}

/** The braai input of the real packet, computed straight from readAlerts and the step. */
function realBraai(): Float32Array {
  const [alert] = readAlerts(packet, 'fixture');
  return braai([alert.science, alert.template, alert.difference]).data;
}

describe(`alert packets as datasets (TEST_SEED=${TEST_SEED})`, () => {
  it('one .avro file: the real ZTF packet, 63×63×3 after braai, unlabelled, with its candidate fields', async () => {
    const { dataset, reported } = await load(FIXTURE);
    expect(reported).toEqual([]);
    expect(dataset.source).toBe(FIXTURE);
    expect(dataset.shape).toEqual([63, 63, 3]);
    expect(dataset.images).toBeInstanceOf(Float32Array);
    expect(dataset.preprocess).toBe('braai');
    expect(dataset.scheme).toBe('unlabelled');
    expect(dataset.ids).toEqual([CANDID]);
    expect(Array.from(dataset.labels)).toEqual([0]);
    expect(dataset.skipped).toEqual([]);
    expect(Array.from(dataset.images)).toEqual(Array.from(realBraai()));
    const [candidate] = dataset.candidates!;
    expect(candidate.survey).toBe('ztf');
    expect(candidate.objectId).toBe('ZTF19aciwwya');
    expect(candidate.file).toBe(FIXTURE);
    expect(candidate.fields.drb).toBe(0.20831140875816345);
    expect(candidate.fields.drbversion).toBe('d6_m7');
    expect(() => labelsFor(dataset, 'binary')).toThrow(/unlabelled .*training and evaluation need labels/);
  });

  it('a file with a corrupt cutout and a stamp too large for braai: both skipped, reported with their candids, the good ones loaded', async () => {
    const { dataset, reported } = await load(mixed);
    expect(dataset.ids).toEqual(['1001', '1003']);
    expect(dataset.shape).toEqual([63, 63, 3]);
    expect(dataset.candidates!.map((c) => c.fields.candid)).toEqual([1001, 1003]);
    expect(reported.map(([id]) => id)).toEqual(['1002', '1004']);
    expect(reported[0][1]).toMatch(/^.*mixed\.avro: candid 1002 cutoutScience: gzip data fail their CRC-32 and length check/);
    expect(reported[1][1]).toMatch(/^.*mixed\.avro: candid 1004: braai: the science cutout is 64×64: braai's input is 63×63, so a cutout may be at most 63×63$/);
    expect(dataset.skipped).toEqual(reported.map(([id, reason]) => ({ id, reason })));
    for (const [, reason] of reported) expect(reason).not.toContain('\n');
    // Both good packets are the real one's pixels.
    const one = realBraai();
    expect(Array.from(dataset.images.subarray(one.length))).toEqual(Array.from(one));
  });

  it('a folder of .avro files and a glob of them: every file in name order, skipped packets counted', async () => {
    for (const path of [folder, join(folder, '*.avro'), join(root, 'a?erts', '[0-9m]*.avro'), join(root, '**', 'alerts', '*.avro')]) {
      const { dataset, reported } = await load(path);
      expect(dataset.source, path).toBe(path);
      expect(dataset.ids, path).toEqual([CANDID, '1001', '1003']);
      expect(dataset.skipped!.length, path).toBe(2);
      expect(reported.length, path).toBe(2);
      expect(dataset.candidates!.map((c) => c.file), path).toEqual([join(folder, `${CANDID}.avro`), mixed, mixed]);
    }
    expect(expandGlob(join(folder, 'm*.avro'))).toEqual([mixed]);
  });

  it('.avro files in a class folder: labelled by the folder, ids under it', async () => {
    const classes = join(root, 'classes');
    mkdirSync(join(classes, 'real'), { recursive: true });
    mkdirSync(join(classes, 'not-real'), { recursive: true });
    copyFileSync(FIXTURE, join(classes, 'real', 'a.avro'));
    copyFileSync(mixed, join(classes, 'not-real', 'b.avro'));
    const { dataset, reported } = await load(classes);
    expect(dataset.scheme).toBe('binary');
    expect(dataset.ids).toEqual(['not-real/1001', 'not-real/1003', `real/${CANDID}`]);
    expect(Array.from(labelsFor(dataset, 'binary'))).toEqual([0, 0, 1]);
    expect(reported.map(([id]) => id)).toEqual(['1002', '1004']);
    expect(dataset.candidates!.length).toBe(3);
  });

  it("a packet the step cannot take is skipped, and a set with none left is one line that suggests a step", async () => {
    // 'none' refuses the real packet's NaN pixels (its candidate sits at the CCD's edge).
    const message = await inputError(() => loadDataset(FIXTURE, { preprocess: 'none', onSkipped: () => {} }), FIXTURE);
    expect(message).toMatch(/its only alert packet could not be used \(.*candid 2475433850415015002: none: channel 0 has NaN at row \d+, column \d+: expected finite pixels/);
    const scaled = await inputError(() => loadDataset(folder), folder);
    expect(scaled).toMatch(/none of its 5 alert packets could be used \(first: .*scale255: channel \d has .* expected a value in 0\.\.255.*\); alert cutouts are not 0\.\.255 composites: choose a step for them, e\.g\. preprocess 'braai'$/);
  });

  it('a corrupt Avro file is one line naming it, alone or in a folder', async () => {
    const broken = join(root, 'broken');
    mkdirSync(broken);
    const file = join(broken, 'cut.avro');
    writeFileSync(file, packet.subarray(0, packet.length - 100));
    expect(await inputError(() => loadDataset(file, { preprocess: 'braai' }), file)).toMatch(/truncated: block 0 needs \d+ bytes/);
    expect(await inputError(() => loadDataset(broken, { preprocess: 'braai' }), file)).toMatch(/truncated/);
    writeFileSync(file, 'not avro at all');
    expect(await inputError(() => loadDataset(file), file)).toMatch(/not an Avro container file/);
  });

  it('a glob that matches nothing, or matches other files, and a folder mixing .avro with other files, are refused in one line', async () => {
    const nothing = join(root, 'alerts', '*.nothing.avro');
    expect(await inputError(() => loadDataset(nothing), nothing)).toMatch(/no file matches this pattern; expected an HDF5 file .* or a glob pattern of \.avro files/);
    const others = join(root, '*');
    expect(await inputError(() => loadDataset(others), others)).toMatch(/matches .*, which is not an \.avro file; a pattern may name alert packet files only$/);
    const messy = join(root, 'messy');
    mkdirSync(messy);
    copyFileSync(FIXTURE, join(messy, 'a.avro'));
    writeFileSync(join(messy, 'notes.txt'), 'x');
    expect(await inputError(() => loadDataset(messy), join(messy, 'notes.txt'))).toMatch(/not an \.avro file in a folder of alert packets/);
  });

  it('the readers behind datasets are platform-free: samples, datasets and HDF5 layouts bundle for a browser; alert sets import no Node built-in', async () => {
    const bundle = await bundleCore(['src/data/samples.ts', 'src/data/dataset.ts', 'src/data/sdss-hdf5.ts']);
    expect(bundle).toContain('every sample must have one shape');
    expect(bundle.match(/\b(process|globalThis|require)\b.{0,60}/g)).toBeNull();
    // alert-dataset.ts reads through alerts.ts, whose avsc needs npm's buffer and util polyfills in a bundle.
    const source = readFileSync(new URL('../src/data/alert-dataset.ts', import.meta.url), 'utf8');
    expect(source.match(/from '(node:)?(fs|path|os|zlib|crypto|buffer)[^']*'/g)).toBeNull();
  });
});
