// Alert packets in: a real ZTF packet (test/fixtures/README.md) decodes to
// its candid, 63×63 cutouts identical to an independent decode, and its
// candidate; packets built here with avsc's own container writer, from the
// real packet's schema (ZTF) and from the published lsst.v7_4 field names
// (Rubin), decode under each codec; and each corrupt or foreign file gets
// its own one-line InputError naming the file.
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { compress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { inputError } from './support/input-error.ts';
import { readAlerts, type Alert, type Cutout } from '../src/data/alerts.ts';
import { container, writes } from './support/avro-file.ts';
import { avroType, readAvroContainer } from '../src/data/avro-container.ts';
import { crc32 } from '../src/data/crc32.ts';
import { writeFits } from './support/fits-write.ts';
import { rng, TEST_SEED } from './support/random.ts';

const FIXTURE = new URL('./fixtures/ztf/2475433850415015002.avro', import.meta.url);
const packet = readFileSync(FIXTURE);

type AvroRecord = Record<string, unknown>;
/** An independent decode of a gzipped single-HDU float32 stamp: node:zlib, the header's NAXISn read by pattern, big-endian floats after it. */
function decodeStamp(gzipped: Uint8Array): Cutout {
  const fits = gunzipSync(gzipped);
  const header = fits.toString('latin1', 0, 2880);
  const axis = (n: number) => Number(header.match(new RegExp(`NAXIS${n} *= *(\\d+)`))?.[1]);
  // ZTF writes SIMPLE in free format ('SIMPLE  =  T'), so neither value is looked for at column 30.
  expect(header).toMatch(/^SIMPLE {2}= +T /);
  expect(header).toMatch(/BITPIX {2}= +-32 /);
  const [cols, rows] = [axis(1), axis(2)];
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = fits.readFloatBE(2880 + 4 * i);
  return { data, shape: [rows, cols] };
}

function expectCutout(actual: Cutout, expected: Cutout, what: string) {
  expect(actual.shape, what).toEqual(expected.shape);
  expect(actual.data, what).toBeInstanceOf(Float32Array);
  for (let i = 0; i < expected.data.length; i++) {
    const [a, e] = [actual.data[i], expected.data[i]];
    if (a !== e && !(Number.isNaN(a) && Number.isNaN(e))) expect.fail(`${what}: pixel ${i} is ${a}, expected ${e} (TEST_SEED=${TEST_SEED})`);
  }
}


/** Float32 pixels drawn around a sky level, with NaN where the candidate is off the CCD. */
function randomImage(rows: number, cols: number, random: () => number, nans = 0): Cutout {
  const data = Float32Array.from({ length: rows * cols }, (_, i) => (i < nans ? NaN : Math.fround(100 + 50 * (random() - 0.5))));
  return { data, shape: [rows, cols] };
}

const gzippedFits = (image: Cutout) => gzipSync(writeFits(image, { bitpix: -32 }));

describe('a real ZTF alert packet (Kowalski sample, MIT)', () => {
  it('decodes to its candid, objectId, three 63×63 cutouts identical to an independent decode, and its candidate', () => {
    const [alert, ...rest] = readAlerts(packet, 'ztf.avro');
    expect(rest).toHaveLength(0);
    expect(alert.survey).toBe('ztf');
    // 2475433850415015002 is past 2^53: as a float64 it would read ...5000.
    expect(alert.candid).toBe('2475433850415015002');
    expect(alert.objectId).toBe('ZTF19aciwwya');
    const [record] = readAvroContainer(packet, 'ztf.avro').records as AvroRecord[];
    const stamp = (field: string) => (record[field] as { stampData: Buffer }).stampData;
    expectCutout(alert.science, decodeStamp(stamp('cutoutScience')), 'science');
    expectCutout(alert.template, decodeStamp(stamp('cutoutTemplate')), 'template');
    expectCutout(alert.difference, decodeStamp(stamp('cutoutDifference')), 'difference');
    expect(alert.science.shape).toEqual([63, 63]);
    // The candidate lies near the science image's edge: part of its stamp is NaN.
    expect(alert.science.data.filter(Number.isNaN).length).toBe(1695);
    expect(alert.template.data.filter(Number.isNaN).length).toBe(0);
    const c = alert.candidate;
    expect(c.candid).toBe('2475433850415015002');
    expect(c.pid).toBe(2475433850415);
    expect(c.drb).toBe(0.20831140875816345);
    expect(c.drbversion).toBe('d6_m7');
    expect(c.fid).toBeTypeOf('number');
    expect(c.ra).toBeTypeOf('number');
    expect(c.dec).toBeTypeOf('number');
    expect(c.magpsf).toBeCloseTo(17.2838, 3);
    expect(c.isdiffpos).toMatch(/^[tf01]$/);
  });
});

describe(`alert packets written with each codec (TEST_SEED=${TEST_SEED})`, () => {
  const { type, records } = readAvroContainer(packet, 'ztf.avro');
  const real = records[0] as AvroRecord;
  const ztfCandidate = real.candidate as AvroRecord;

  /** Three ZTF alerts: 64-bit candids, a 63×47 stamp from a CCD's edge, NaN pixels, and a 16-bit template with BZERO. */
  function ztfAlerts(random: () => number) {
    return [0, 1, 2].map((k) => {
      const science = randomImage(63, k === 1 ? 47 : 63, random, k === 2 ? 100 : 0);
      const counts = Float32Array.from({ length: 63 * 63 }, () => Math.floor(random() * 65536));
      const template: Cutout = { data: counts, shape: [63, 63] };
      const difference = randomImage(63, k === 1 ? 47 : 63, random);
      const candid = 9223372036854775807n - BigInt(k);
      const record = {
        ...real,
        candid,
        objectId: `ZTF24test${k}`,
        candidate: { ...ztfCandidate, candid, magpsf: 18.25 + k, drb: Math.fround(0.5 + 0.125 * k), ra: 150.125 + k, fwhm: null },
        cutoutScience: { fileName: `sci${k}.fits.gz`, stampData: gzippedFits(science) },
        cutoutTemplate: { fileName: `ref${k}.fits.gz`, stampData: gzipSync(writeFits(template, { bitpix: 16, bzero: 32768 })) },
        cutoutDifference: { fileName: `diff${k}.fits.gz`, stampData: gzippedFits(difference) },
      };
      return { record, science, template, difference };
    });
  }

  it.each([
    ['null', 1],
    ['deflate', 1],
    ['snappy', 1],
    ['deflate', undefined],
    ['snappy', undefined],
  ])('ZTF, codec %s, block size %s: candids, cutouts and candidates as written', async (codec, blockSize) => {
    const made = ztfAlerts(rng(TEST_SEED));
    const file = await container(type, made.map((m) => m.record), codec, { blockSize });
    expect(readAvroContainer(file, 'x').codec).toBe(codec);
    const alerts = readAlerts(file, `ztf-${codec}.avro`);
    expect(alerts.map((a) => a.candid)).toEqual(['9223372036854775807', '9223372036854775806', '9223372036854775805']);
    alerts.forEach((alert: Alert, k) => {
      expect(alert.objectId).toBe(`ZTF24test${k}`);
      expectCutout(alert.science, made[k].science, `alert ${k} science`);
      expectCutout(alert.template, made[k].template, `alert ${k} template`);
      expectCutout(alert.difference, made[k].difference, `alert ${k} difference`);
      expect(alert.candidate.magpsf).toBe(18.25 + k);
      expect(alert.candidate.drb).toBe(0.5 + 0.125 * k);
      expect(alert.candidate.ra).toBe(150.125 + k);
      expect(alert.candidate.fwhm).toBeNull();
      expect(alert.candidate.drbversion).toBe('d6_m7');
    });
    expect(alerts[1].science.shape).toEqual([63, 47]);
    expect(alerts[2].science.data.filter(Number.isNaN).length).toBe(100);
  });

  // The published lsst.v7_4 alert's fields (github.com/lsst/alert_packet), its diaSource cut to a few of them.
  const rubinType = avroType({
    type: 'record',
    name: 'alert',
    namespace: 'lsst.v7_4',
    fields: [
      { name: 'alertId', type: 'long' },
      {
        name: 'diaSource',
        type: {
          type: 'record',
          name: 'diaSource',
          fields: [
            { name: 'diaSourceId', type: 'long' },
            { name: 'diaObjectId', type: ['null', 'long'] },
            { name: 'ssObjectId', type: ['null', 'long'] },
            { name: 'ra', type: 'double' },
            { name: 'dec', type: 'double' },
            { name: 'psfFlux', type: ['null', 'float'] },
            { name: 'reliability', type: ['null', 'float'] },
            { name: 'isDipole', type: ['null', 'boolean'] },
          ],
        },
      },
      { name: 'prvDiaSources', type: ['null', { type: 'array', items: 'lsst.v7_4.diaSource' }] },
      { name: 'cutoutDifference', type: ['null', 'bytes'] },
      { name: 'cutoutScience', type: ['null', 'bytes'] },
      { name: 'cutoutTemplate', type: ['null', 'bytes'] },
    ],
  });

  /** A FITS file whose image is in an IMAGE extension after an empty primary HDU, as Rubin's cutouts may be. */
  function imageExtension(image: Cutout): Buffer {
    const fits = Buffer.from(writeFits(image, { bitpix: -32 }));
    const cards = (fits.toString('latin1', 0, 2880).match(/.{80}/g) ?? []).map((c) => c.trimEnd());
    cards.splice(cards.indexOf('END') + 1);
    const card = (keyword: string, value: string) => `${keyword.padEnd(8)}= ${value.padStart(20)}`;
    const header = ["XTENSION= 'IMAGE   '", ...cards.slice(1, 5), card('PCOUNT', '0'), card('GCOUNT', '1'), ...cards.slice(5)];
    const empty = writeFits({ shape: [], data: [] }, { bitpix: -32 });
    return Buffer.concat([empty, Buffer.from(header.map((c) => c.padEnd(80)).join('').padEnd(2880), 'latin1'), fits.subarray(2880)]);
  }

  it.each(['null', 'deflate', 'snappy'])('Rubin, codec %s: diaSourceId as candid, diaObjectId or ssObjectId, plain and gzipped cutouts', async (codec) => {
    const random = rng(TEST_SEED);
    const images = [0, 1].map(() => ({ science: randomImage(31, 29, random, 5), template: randomImage(31, 29, random), difference: randomImage(31, 29, random) }));
    const source = { diaObjectId: 4611686018427387905n, ssObjectId: null, ra: 10.5, dec: -43.25, psfFlux: 1250.5, reliability: 0.875, isDipole: false };
    const file = await container(
      rubinType,
      images.map((im, k) => ({
        alertId: 1n + BigInt(k),
        diaSource: { ...source, diaSourceId: 2n ** 62n + 1n + BigInt(k), ...(k === 1 ? { diaObjectId: null, ssObjectId: 17n } : {}) },
        prvDiaSources: null,
        cutoutScience: imageExtension(im.science),
        cutoutTemplate: gzippedFits(im.template),
        cutoutDifference: Buffer.from(writeFits(im.difference, { bitpix: -32 })),
      })),
      codec,
      { blockSize: 1 },
    );
    const alerts = readAlerts(file, `rubin-${codec}.avro`);
    expect(alerts.map((a) => [a.survey, a.candid, a.objectId])).toEqual([
      ['rubin', '4611686018427387905', '4611686018427387905'],
      ['rubin', '4611686018427387906', '17'],
    ]);
    alerts.forEach((alert, k) => {
      expectCutout(alert.science, images[k].science, `alert ${k} science`);
      expectCutout(alert.template, images[k].template, `alert ${k} template`);
      expectCutout(alert.difference, images[k].difference, `alert ${k} difference`);
    });
    expect(alerts[0].candidate).toEqual({
      diaSourceId: '4611686018427387905',
      diaObjectId: '4611686018427387905',
      ssObjectId: null,
      ra: 10.5,
      dec: -43.25,
      psfFlux: 1250.5,
      reliability: 0.875,
      isDipole: false,
    });
  });

  it('CRC-32 is the standard one (check value of "123456789")', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  describe('bad packets: one line each, naming the file and what was expected', () => {
    const made = () => ztfAlerts(rng(TEST_SEED)).map((m) => m.record);
    const foreign = avroType({ type: 'record', name: 'other', fields: [{ name: 'x', type: 'int' }] });
    const ztfSchema = type.schema() as { fields: { name: string }[] };
    const noDifference = avroType({ ...ztfSchema, fields: ztfSchema.fields.filter((f) => f.name !== 'cutoutDifference') });

    it.each([
      ['not an Avro file', async () => gzippedFits(randomImage(3, 3, rng(TEST_SEED))), /not an Avro container file \(it does not begin with 'Obj' 1\); expected an Avro alert packet$/],
      ['a file cut inside its header', async () => packet.subarray(0, 300), /truncated or corrupt: the header runs past the end of its bytes$/],
      ['a file cut inside its block', async () => packet.subarray(0, packet.length - 100), /truncated: block 0 needs \d+ bytes and a sync marker from byte \d+, but the file ends at byte \d+$/],
      [
        'a bad sync marker',
        async () => {
          const bad = Buffer.from(packet);
          bad[bad.length - 1] ^= 0xff;
          return bad;
        },
        /bad sync marker after block 0 \(byte \d+\); the file is corrupt$/,
      ],
      ['a schema of neither survey', async () => container(foreign, [{ x: 1 }]), /schema 'other' has neither a 'candidate' nor a 'diaSource' field; expected a ZTF alert/],
      ['a ZTF schema without cutoutDifference', async () => container(noDifference, made()), /schema 'ztf.alert' has no field 'cutoutDifference'; expected/],
      ['an unsupported codec', async () => container(type, made(), 'bzip2', { codecs: { bzip2: writes((block) => block) } }), /codec 'bzip2' is not supported; expected null, deflate, snappy$/],
      [
        'a snappy block whose CRC-32 does not match',
        async () => container(type, made(), 'snappy', { codecs: { snappy: writes((block) => Buffer.concat([compress(block), Buffer.alloc(4)])) } }),
        /block 0: snappy data fail their CRC-32 check; the file is corrupt$/,
      ],
      [
        'a deflate block that is not deflate',
        async () => container(type, made(), 'deflate', { codecs: { deflate: writes(() => Buffer.alloc(8, 0xff)) } }),
        /block 0: corrupt deflate data \(.+\)$/,
      ],
    ])('%s', async (_, file, expected) => {
      const bytes = await file();
      expect(await inputError(() => readAlerts(bytes, 'bad.avro'), 'bad.avro')).toMatch(expected);
    });

    it('a missing or corrupt cutout names the candid and the field; with onBadPacket the packet is reported and skipped', async () => {
      const records = made();
      records[0].cutoutTemplate = null as never;
      const corrupt = Buffer.from(records[1].cutoutScience.stampData);
      corrupt[corrupt.length - 8] ^= 0xff;
      records[1].cutoutScience = { fileName: 'bad.fits.gz', stampData: corrupt };
      records[2].cutoutDifference = { fileName: 'cut.fits', stampData: Buffer.from(writeFits(randomImage(63, 63, rng(TEST_SEED)), { bitpix: -32 }).subarray(0, 5000)) };
      const good = { ...ztfAlerts(rng(TEST_SEED))[0].record, candid: 1311156250015010003n };
      const file = await container(type, [...records, good]);
      expect(await inputError(() => readAlerts(file, 'bad.avro'), 'bad.avro')).toBe(
        'bad.avro: candid 9223372036854775807 cutoutTemplate is missing; expected a FITS stamp',
      );
      const reported: string[] = [];
      const alerts = readAlerts(file, 'bad.avro', { onBadPacket: (e) => reported.push(e.message) });
      expect(alerts.map((a) => a.candid)).toEqual(['1311156250015010003']);
      expect(reported).toHaveLength(3);
      expect(reported[0]).toBe('bad.avro: candid 9223372036854775807 cutoutTemplate is missing; expected a FITS stamp');
      expect(reported[1]).toMatch(/^bad\.avro: candid 9223372036854775806 cutoutScience: gzip data fail their CRC-32 and length check/);
      expect(reported[2]).toMatch(/^bad\.avro: candid 9223372036854775805 cutoutDifference: HDU 0: truncated: the data \(BITPIX -32, axes 63×63\) need 15876 bytes/);
    });
  });
});
