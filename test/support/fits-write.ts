// FITS files written: one primary HDU holding an image, as float32 (BITPIX
// -32, ZTF's stamps) or as 16-bit integers with BSCALE, BZERO and BLANK (the
// common way to store counts): the tests' own writer, sharing no code with
// the reader (src/data/fits.ts) but its block size.
import { FITS_BLOCK, type HeaderValue } from '../../src/data/fits.ts';

export interface FitsImage {
  /** Row-major, as readFits returns it: [rows, cols] or [planes, rows, cols]; [] for a header alone. */
  shape: readonly number[];
  /** Physical values, shape's last axis fastest. */
  data: ArrayLike<number>;
}

export interface FitsWriteOptions {
  bitpix: -32 | 16;
  /** BITPIX 16 only: each pixel is stored as round((value - bzero) / bscale). */
  bscale?: number;
  bzero?: number;
  /** BITPIX 16 only: the stored value of NaN pixels. */
  blank?: number;
  /** Further cards, after the mandatory and scaling ones, in this order. */
  header?: Readonly<Record<string, HeaderValue>>;
}

/** Cards this writer sets itself, which options.header may not repeat. */
const RESERVED = /^(SIMPLE|BITPIX|NAXIS\d{0,3}|EXTEND|BSCALE|BZERO|BLANK|END)$/;

/** A whole FITS file: the header and the big-endian data, each padded to 2880-byte blocks. */
export function writeFits(image: FitsImage, options: FitsWriteOptions): Uint8Array {
  const { shape, data } = image;
  const count = shape.length === 0 ? 0 : shape.reduce((a, b) => a * b, 1);
  if (!shape.every((n) => Number.isInteger(n) && n > 0) || data.length !== count) {
    throw new RangeError(`writeFits: ${data.length} values for shape [${shape.join(', ')}]`);
  }
  const { bitpix, bscale = 1, bzero = 0, blank } = options;
  const scaled = options.bscale !== undefined || options.bzero !== undefined || blank !== undefined;
  if (bitpix === -32 && scaled) throw new RangeError('writeFits: BITPIX -32 stores values as they are, without BSCALE, BZERO or BLANK');

  const cards = [card('SIMPLE', true), card('BITPIX', bitpix), card('NAXIS', shape.length)];
  [...shape].reverse().forEach((n, i) => cards.push(card(`NAXIS${i + 1}`, n)));
  if (options.bscale !== undefined) cards.push(card('BSCALE', bscale));
  if (options.bzero !== undefined) cards.push(card('BZERO', bzero));
  if (blank !== undefined) cards.push(card('BLANK', blank));
  for (const [keyword, value] of Object.entries(options.header ?? {})) {
    if (RESERVED.test(keyword)) throw new RangeError(`writeFits: ${keyword} is set by the writer, not by options.header`);
    cards.push(card(keyword, value));
  }
  cards.push('END'.padEnd(80));

  const headerBytes = padded(cards.length * 80);
  const bytesPerValue = Math.abs(bitpix) / 8;
  const out = new Uint8Array(headerBytes + padded(count * bytesPerValue));
  out.fill(0x20, 0, headerBytes);
  cards.forEach((text, i) => {
    for (let j = 0; j < 80; j++) out[80 * i + j] = text.charCodeAt(j);
  });
  const view = new DataView(out.buffer, headerBytes);
  for (let i = 0; i < count; i++) {
    if (bitpix === -32) view.setFloat32(4 * i, data[i]);
    else view.setInt16(2 * i, stored16(data[i], bscale, bzero, blank));
  }
  return out;
}

function padded(bytes: number): number {
  return Math.ceil(bytes / FITS_BLOCK) * FITS_BLOCK;
}

function stored16(value: number, bscale: number, bzero: number, blank: number | undefined): number {
  if (Number.isNaN(value)) {
    if (blank === undefined) throw new RangeError('writeFits: a NaN pixel in a BITPIX 16 image without options.blank');
    return blank;
  }
  const stored = Math.round((value - bzero) / bscale);
  if (stored < -32768 || stored > 32767) throw new RangeError(`writeFits: ${value} does not fit BITPIX 16 with BSCALE ${bscale}, BZERO ${bzero}`);
  return stored;
}

/** A card in the standard's fixed format: strings from column 11, other values right-aligned to column 30. */
function card(keyword: string, value: HeaderValue): string {
  if (!/^[A-Z0-9_-]{1,8}$/.test(keyword)) throw new RangeError(`writeFits: '${keyword}' is not a FITS keyword`);
  let text: string;
  if (typeof value === 'string') text = `'${value.replaceAll("'", "''").padEnd(8)}'`;
  else if (typeof value === 'boolean') text = (value ? 'T' : 'F').padStart(20);
  else if (Number.isFinite(value)) text = String(value).toUpperCase().padStart(20);
  else throw new RangeError(`writeFits: ${keyword} = ${value} has no FITS form`);
  const line = `${keyword.padEnd(8)}= ${text}`;
  if (line.length > 80 || /[^\x20-\x7e]/.test(line)) throw new RangeError(`writeFits: ${keyword} does not fit one 80-character ASCII card`);
  return line.padEnd(80);
}
