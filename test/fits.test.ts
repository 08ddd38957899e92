// FITS in: files written here by hand, card by card and byte by byte (an
// independent writer, not writeFits), read back with known pixels in every
// BITPIX, with BSCALE/BZERO, BLANK and NaN, as cubes, as extensions and
// gzipped; writeFits round-trips; and each malformed file gets its own
// one-line InputError naming the file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputError } from './support/input-error.ts';
import { readFits, type Bitpix } from '../src/data/fits.ts';
import { writeFits } from './support/fits-write.ts';
import { InputError } from '../src/errors.ts';
import { readFitsFile } from '../src/data/fits-file.ts';
import { rng, TEST_SEED } from './support/random.ts';

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'handscan-fits-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** A card as written by hand: the value text as given, right-aligned to column 30 unless it is a string. */
function card(keyword: string, value?: string): string {
  if (value === undefined) return keyword.padEnd(80);
  return `${keyword.padEnd(8)}= ${value.startsWith("'") ? value : value.padStart(20)}`.padEnd(80);
}

/** Header cards (END appended) and data, each padded to whole 2880-byte blocks: spaces after the header, zeros after the data. */
function hdu(cards: string[], data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const header = [...cards, card('END')].join('');
  const headerBytes = Math.ceil(header.length / 2880) * 2880;
  const out = new Uint8Array(headerBytes + Math.ceil(data.length / 2880) * 2880);
  out.set(Buffer.from(header.padEnd(headerBytes), 'latin1'));
  out.set(data, headerBytes);
  return out;
}

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** Stored values, big-endian, as BITPIX lays them out. */
function encode(bitpix: Bitpix, values: readonly (number | bigint)[]): Uint8Array {
  const size = Math.abs(bitpix) / 8;
  const view = new DataView(new ArrayBuffer(values.length * size));
  values.forEach((v, i) => {
    if (bitpix === 8) view.setUint8(i, Number(v));
    else if (bitpix === 16) view.setInt16(2 * i, Number(v));
    else if (bitpix === 32) view.setInt32(4 * i, Number(v));
    else if (bitpix === 64) view.setBigInt64(8 * i, BigInt(v));
    else if (bitpix === -32) view.setFloat32(4 * i, Number(v));
    else view.setFloat64(8 * i, Number(v));
  });
  return new Uint8Array(view.buffer);
}

/** A primary HDU: axes as NAXIS1, NAXIS2, ... (fastest first), then the extra cards. */
function primary(bitpix: Bitpix, axes: number[], extra: string[], values: readonly (number | bigint)[]): Uint8Array {
  const cards = [card('SIMPLE', 'T'), card('BITPIX', String(bitpix)), card('NAXIS', String(axes.length))];
  axes.forEach((n, i) => cards.push(card(`NAXIS${i + 1}`, String(n))));
  return hdu([...cards, ...extra], encode(bitpix, values));
}

/** Stored values drawn uniformly from a BITPIX's range (floats from ±1e6, exact in their width). */
function randomStored(bitpix: Bitpix, n: number, random: () => number): (number | bigint)[] {
  const integer = (bits: number) => Math.floor(random() * 2 ** bits) - (bits === 8 ? 0 : 2 ** (bits - 1));
  return Array.from({ length: n }, () => {
    if (bitpix === 8) return integer(8);
    if (bitpix === 16) return integer(16);
    if (bitpix === 32) return integer(32);
    if (bitpix === 64) return (BigInt(integer(32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32));
    const value = (random() - 0.5) * 2e6;
    return bitpix === -32 ? Math.fround(value) : value;
  });
}


/** NaN-aware, exact comparison of decoded pixels with the expected physical values. */
function expectPixels(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string) {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i]) && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      expect.fail(`${what}: pixel ${i} is ${actual[i]}, expected ${expected[i]} (TEST_SEED=${TEST_SEED})`);
    }
  }
}

describe(`FITS images (TEST_SEED=${TEST_SEED})`, () => {
  // 3 rows of 4 columns: a reader that swaps the axes gets the shape wrong.
  const COLS = 4;
  const ROWS = 3;

  it.each([8, 16, 32, 64, -32, -64] as const)('BITPIX %i with BSCALE, BZERO and BLANK gives BZERO + BSCALE × stored, NaN where BLANK', (bitpix) => {
    const random = rng(TEST_SEED + bitpix);
    const stored = randomStored(bitpix, ROWS * COLS, random);
    const integer = bitpix > 0;
    const blank = integer ? stored[5] : undefined;
    if (!integer) stored[7] = NaN;
    const extra = [card('BSCALE', '2.5'), card('BZERO', '-7.0D0'), ...(integer ? [card('BLANK', String(blank))] : [])];
    const [image] = readFits(primary(bitpix, [COLS, ROWS], extra, stored), 'scaled.fits');
    expect(image.bitpix).toBe(bitpix);
    expect(image.shape).toEqual([ROWS, COLS]);
    expect(image.data).toBeInstanceOf(Float64Array);
    const expected = stored.map((v) => (v === blank ? NaN : -7 + 2.5 * Number(v)));
    expectPixels(image.data, expected, `BITPIX ${bitpix}`);
    // BLANK marks the blank value wherever it recurs, here only at index 5 unless the draw repeats it.
    if (integer) expect(Number.isNaN(image.data[5])).toBe(true);
    else expect(Number.isNaN(image.data[7])).toBe(true);
    expect(image.header.get('BSCALE')).toBe(2.5);
    expect(image.header.get('BZERO')).toBe(-7);
  });

  it('unscaled 8-, 16- and float32 images, and unsigned 16-bit (BZERO 32768), come back exact as Float32Array', () => {
    const random = rng(TEST_SEED);
    const bytes = Array.from({ length: 12 }, (_, i) => (i === 0 ? 0 : i === 1 ? 255 : Math.floor(random() * 256)));
    const unsigned = Array.from({ length: 12 }, (_, i) => (i === 0 ? 0 : i === 1 ? 65535 : Math.floor(random() * 65536)));
    const floats = Array.from({ length: 12 }, (_, i) => (i === 3 ? NaN : Math.fround((random() - 0.5) * 1e4)));
    const cases = [
      { bitpix: 8 as const, extra: [], stored: bytes, expected: bytes },
      { bitpix: 16 as const, extra: [card('BZERO', '32768'), card('BSCALE', '1')], stored: unsigned.map((v) => v - 32768), expected: unsigned },
      { bitpix: -32 as const, extra: [], stored: floats, expected: floats },
    ];
    for (const { bitpix, extra, stored, expected } of cases) {
      const [image] = readFits(primary(bitpix, [COLS, ROWS], extra, stored), 'exact.fits');
      expect(image.data, `BITPIX ${bitpix}`).toBeInstanceOf(Float32Array);
      expectPixels(image.data, expected, `BITPIX ${bitpix}`);
    }
  });

  it('32- and 64-bit extremes, and unsigned 64-bit (BZERO 2^63) counts near zero, are exact', () => {
    const [int32] = readFits(primary(32, [2, 1], [], [-(2 ** 31), 2 ** 31 - 1]), 'int32.fits');
    expectPixels(int32.data, [-(2 ** 31), 2 ** 31 - 1], 'BITPIX 32');
    // Stored -2^63 + 5 is 5 once 2^63 is added; added in float64 instead, the 5 would be lost.
    const stored = [-(2n ** 63n) + 5n, -(2n ** 63n), 2n ** 63n - 1n];
    const [uint64] = readFits(primary(64, [3, 1], [card('BZERO', '9223372036854775808')], stored), 'uint64.fits');
    expectPixels(uint64.data, [5, 0, 2 ** 64 - 1], 'BITPIX 64 unsigned');
    const [blank64] = readFits(primary(64, [2, 1], [card('BLANK', '-9223372036854775807')], [-(2n ** 63n) + 1n, 42n]), 'blank64.fits');
    expectPixels(blank64.data, [NaN, 42], 'BITPIX 64 BLANK');
  });

  it('a 3-D cube reads as [planes, rows, cols], NAXIS1 fastest', () => {
    const values = Array.from({ length: 3 * 4 * 5 }, (_, i) => 100 * Math.floor(i / 20) + 10 * Math.floor((i % 20) / 5) + (i % 5));
    const [cube] = readFits(primary(16, [5, 4, 3], [], values), 'cube.fits');
    expect(cube.shape).toEqual([3, 4, 5]);
    // Plane 2, row 1, column 4.
    expect(cube.data[2 * 20 + 1 * 5 + 4]).toBe(214);
    expectPixels(cube.data, values, 'cube');
  });

  it('an image extension after a data-less primary HDU and a binary table is read, the table skipped by its size', () => {
    const empty = hdu([card('SIMPLE', 'T'), card('BITPIX', '8'), card('NAXIS', '0'), card('EXTEND', 'T')]);
    // 2 rows of 5 bytes and a 7-byte heap: 17 bytes to skip, padded to one block.
    const table = hdu(
      [card('XTENSION', "'BINTABLE'"), card('BITPIX', '8'), card('NAXIS', '2'), card('NAXIS1', '5'), card('NAXIS2', '2')]
        .concat([card('PCOUNT', '7'), card('GCOUNT', '1'), card('TFIELDS', '1'), card('TFORM1', "'5A      '")]),
      new Uint8Array(17).fill(0x41),
    );
    const pixels = [1.5, -2.25, NaN, 8, 1e-30, 3e30];
    const image = hdu(
      [card('XTENSION', "'IMAGE   '"), card('BITPIX', '-64'), card('NAXIS', '2'), card('NAXIS1', '3'), card('NAXIS2', '2')]
        .concat([card('PCOUNT', '0'), card('GCOUNT', '1'), card('EXTNAME', "'SCI'"), card('BUNIT', "'DN      '")]),
      encode(-64, pixels),
    );
    const hdus = readFits(concat(empty, table, image), 'mef.fits');
    expect(hdus.map((h) => h.index)).toEqual([0, 2]);
    expect(hdus[0].shape).toEqual([]);
    expect(hdus[0].data.length).toBe(0);
    expect(hdus[1].shape).toEqual([2, 3]);
    expect(hdus[1].header.get('EXTNAME')).toBe('SCI');
    expect(hdus[1].header.get('BUNIT')).toBe('DN');
    expectPixels(hdus[1].data, pixels, 'extension');
  });

  it('header values: strings with quotes and comments, logicals, D exponents, CONTINUE, commentary left out, the first repeat kept', () => {
    const extra = [
      card('OBJECT', "'O''Brien''s field  ' / leading spaces count, trailing do not"),
      card('ORIGIN', "'  ZTF'"),
      card('FLAG', 'F / a logical'),
      card('GAIN', '1.5D+01'),
      card('EXPTIME', '30. / seconds'),
      card('LONG', "'first part &'"),
      card("CONTINUE  'and the rest'"),
      card('COMMENT = not a value: commentary whatever columns 9-10 hold'),
      card('HISTORY written by hand'),
      card('EMPTY', ' / a keyword without a value'),
      card('GAIN', '99'),
    ];
    const [image] = readFits(primary(8, [1, 1], extra, [7]), 'header.fits');
    const h = image.header;
    expect(h.get('OBJECT')).toBe("O'Brien's field");
    expect(h.get('ORIGIN')).toBe('  ZTF');
    expect(h.get('FLAG')).toBe(false);
    expect(h.get('GAIN')).toBe(15);
    expect(h.get('EXPTIME')).toBe(30);
    expect(h.get('LONG')).toBe('first part and the rest');
    expect(h.has('COMMENT') || h.has('HISTORY') || h.has('CONTINUE') || h.has('EMPTY')).toBe(false);
    expect(h.get('SIMPLE')).toBe(true);
  });

  it('a gzipped file reads as the file itself, from bytes and from .fits.gz and .fits files on disk', async () => {
    const file = primary(-32, [COLS, ROWS], [], [0.5, NaN, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const [plain] = readFits(file, 'plain.fits');
    const [gzipped] = readFits(gzipSync(file), 'plain.fits.gz');
    expectPixels(gzipped.data, plain.data, 'gzip');
    writeFileSync(join(folder, 'a.fits.gz'), gzipSync(file));
    writeFileSync(join(folder, 'a.fits'), file);
    for (const name of ['a.fits.gz', 'a.fits']) {
      const [fromDisk] = await readFitsFile(join(folder, name));
      expect(fromDisk.shape).toEqual([ROWS, COLS]);
      expectPixels(fromDisk.data, plain.data, name);
    }
    const missing = join(folder, 'missing.fits');
    await expect(readFitsFile(missing)).rejects.toThrow(new InputError(`${missing}: no such file`));
  });

  it('writeFits: float32 and scaled 16-bit images round-trip, in the standard fixed format', () => {
    const random = rng(TEST_SEED);
    const floats = Array.from({ length: 2 * 63 * 47 }, (_, i) => (i % 97 === 0 ? NaN : Math.fround((random() - 0.5) * 1e3)));
    const bytes = writeFits({ shape: [2, 63, 47], data: floats }, { bitpix: -32, header: { EXTNAME: "it's", EXPOSED: true, GAIN: 1.25e-7 } });
    expect(bytes.length % 2880).toBe(0);
    const cards = Buffer.from(bytes.subarray(0, 2880)).toString('latin1').match(/.{80}/g) ?? [];
    expect(cards.slice(0, 6).map((c) => c.trimEnd())).toEqual([
      'SIMPLE  =                    T',
      'BITPIX  =                  -32',
      'NAXIS   =                    3',
      'NAXIS1  =                   47',
      'NAXIS2  =                   63',
      'NAXIS3  =                    2',
    ]);
    const [image] = readFits(bytes, 'written.fits');
    expect(image.shape).toEqual([2, 63, 47]);
    expectPixels(image.data, floats, 'writeFits -32');
    expect([image.header.get('EXTNAME'), image.header.get('EXPOSED'), image.header.get('GAIN')]).toEqual(["it's", true, 1.25e-7]);

    const counts = Array.from({ length: 20 }, (_, i) => (i === 4 ? NaN : 100 + 0.5 * Math.floor(random() * 60000)));
    const [scaled] = readFits(writeFits({ shape: [4, 5], data: counts }, { bitpix: 16, bscale: 0.5, bzero: 15100, blank: -32768 }), 'counts.fits');
    expect(scaled.bitpix).toBe(16);
    expectPixels(scaled.data, counts, 'writeFits 16');
    expect(() => writeFits({ shape: [1], data: [NaN] }, { bitpix: 16 })).toThrow(/NaN/);
    expect(() => writeFits({ shape: [1], data: [1e6] }, { bitpix: 16 })).toThrow(/does not fit/);
    expect(() => writeFits({ shape: [2], data: [1] }, { bitpix: -32 })).toThrow(/1 values for shape \[2\]/);
  });
});

describe('malformed FITS files: one line each, naming the file and what was expected', () => {
  const base = () => [card('SIMPLE', 'T'), card('BITPIX', '16'), card('NAXIS', '2'), card('NAXIS1', '3'), card('NAXIS2', '2')];
  const good = hdu(base(), encode(16, [1, 2, 3, 4, 5, 6]));
  const withCards = (cards: string[]) => hdu(cards, encode(16, [1, 2, 3, 4, 5, 6]));
  const replaced = (index: number, text: string) => withCards(base().map((c, i) => (i === index ? text.padEnd(80) : c)));
  const nonAscii = good.slice();
  nonAscii[3 * 80 + 20] = 0xe9;
  const textAfterEnd = good.slice();
  textAfterEnd[5 * 80 + 9] = 0x58;
  const gzipped = gzipSync(good);
  const corruptGzip = gzipped.slice();
  corruptGzip[gzipped.length - 8] ^= 0xff; // the CRC-32 in the trailer
  const noEnd = new Uint8Array(2880).fill(0x20);
  noEnd.set(Buffer.from(base().join(''), 'latin1'));

  it.each([
    ['a PNG, not FITS', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), /^bad\.fits: not a FITS file \(it does not begin with 'SIMPLE {2}= '\)/],
    ['a header cut mid-block', good.subarray(0, 1000), /HDU 0: truncated: the header block at byte 0 holds 1000 of 2880 bytes$/],
    ['a header without END', noEnd, /HDU 0: no END card: the header from byte 0 runs to the end of the file$/],
    ['the data cut short', good.subarray(0, 2880 + 6), /HDU 0: truncated: the data \(BITPIX 16, axes 3×2\) need 12 bytes padded to 2880 from byte 2880, but the file ends at byte 2886$/],
    ['a byte outside ASCII', nonAscii, /HDU 0: card 4 \(byte 240\) is not 80 ASCII characters: byte 0xe9 in column 21$/],
    ['BITPIX without its = sign', replaced(1, 'BITPIX                   16'), /HDU 0: card 2 \(byte 80\): BITPIX has no '= ' in columns 9-10; expected a value$/],
    ['a lower-case keyword', replaced(4, card('naxis2', '2')), /card 5 \(byte 320\): 'naxis2  ' is not a keyword/],
    ['BITPIX 24', replaced(1, card('BITPIX', '24')), /HDU 0: BITPIX = 24 is not supported; expected 8, 16, 32, 64, -32 or -64$/],
    ['NAXIS2 missing', withCards(base().slice(0, 4)), /HDU 0: expected NAXIS2 in card 5, found END$/],
    ['a value that is no FITS value', replaced(3, card('NAXIS1', 'three')), /card 4 \(byte 240\): NAXIS1 value 'three' is not a FITS string, logical or number$/],
    ['a negative axis', replaced(3, card('NAXIS1', '-3')), /HDU 0: NAXIS1 = -3; expected an integer from 0 to \d+$/],
    ['an unterminated string', withCards([...base(), card('OBJECT', "'M31")]), /card 6 \(byte 400\): OBJECT string value 'M31 has no closing quote$/],
    ['SIMPLE = F', replaced(0, card('SIMPLE', 'F')), /HDU 0: SIMPLE = F; expected T/],
    ['text after END', textAfterEnd, /HDU 0: card 6 \(byte 400\): text after END; expected columns 9-80 blank$/],
    ['a non-integer BLANK', withCards([...base(), card('BLANK', '1.5')]), /HDU 0: BLANK = 1.5; expected an integer$/],
    ['a string BSCALE', withCards([...base(), card('BSCALE', "'2'")]), /HDU 0: BSCALE = '2'; expected a number$/],
    ['trailing bytes that are no extension', concat(good, hdu([card('SIMPLE', 'T')])), /HDU 1: expected XTENSION in card 1, found 'SIMPLE'$/],
    ['an IMAGE extension with GCOUNT 2', concat(hdu([card('SIMPLE', 'T'), card('BITPIX', '8'), card('NAXIS', '0')]), hdu([card('XTENSION', "'IMAGE   '"), card('BITPIX', '8'), card('NAXIS', '1'), card('NAXIS1', '4'), card('PCOUNT', '0'), card('GCOUNT', '2')], new Uint8Array(8))), /HDU 1: an IMAGE extension with PCOUNT = 0, GCOUNT = 2; expected 0 and 1$/],
    ['gzip whose CRC-32 does not match', corruptGzip, /^bad\.fits: gzip data fail their CRC-32 and length check/],
    ['gzip cut short', gzipped.subarray(0, 30), /^bad\.fits: corrupt gzip data \(.+\); expected a complete gzip stream$/],
  ])('%s', async (_, bytes, expected) => {
    expect(await inputError(() => readFits(bytes, 'bad.fits'), 'bad.fits')).toMatch(expected);
  });

  it('the well-formed file that each case breaks reads', () => {
    const [image] = readFits(good, 'good.fits');
    expect(Array.from(image.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
