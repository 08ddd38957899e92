// FITS images read from bytes (FITS Standard 4.0), platform-free so that the
// same code reads cutout files from disk and stamps out of alert packets, in
// Node or a browser. Strict by design: a survey file that breaks the standard
// is more likely corrupt than creative, and a wrong pixel is worse than a
// refusal. The primary HDU and IMAGE extensions are decoded; other
// extensions (tables) are skipped by the size their header declares.
import { InputError } from '../errors.ts';
import { gunzip, isGzip } from './gunzip.ts';

/** FITS's logical record: headers and data both come in whole blocks. */
export const FITS_BLOCK = 2880;
/** One header card ("keyword record"). */
const CARD = 80;

export type Bitpix = 8 | 16 | 32 | 64 | -32 | -64;
const BITPIXES: readonly number[] = [8, 16, 32, 64, -32, -64];

export type HeaderValue = string | number | boolean;

export interface FitsHdu {
  /** Position in the file, the primary HDU being 0; skipped extensions keep their numbers. */
  index: number;
  bitpix: Bitpix;
  /** Row-major, NAXISn first: [rows, cols] for an image, [planes, rows, cols] for a cube; [] without data. */
  shape: number[];
  /** Physical values, BZERO + BSCALE × stored, NaN where BLANK; Float32Array when each is exact in float32. */
  data: Float32Array | Float64Array;
  /** Valued keywords (commentary cards left out); the first of a repeated keyword wins. */
  header: Map<string, HeaderValue>;
}

interface Card {
  keyword: string;
  /** Absent on commentary cards and on keywords whose value is left undefined. */
  value?: HeaderValue;
  /** The value as written: integers beyond 2^53 (BITPIX 64's BLANK and BZERO) are exact only here. */
  text: string;
}

type Fail = (what: string) => never;

/** Keywords whose cards must carry a value; without '= ' the file is malformed, not commentary. */
const VALUED = /^(SIMPLE|XTENSION|BITPIX|NAXIS\d{0,3}|PCOUNT|GCOUNT|BSCALE|BZERO|BLANK|EXTEND|GROUPS)$/;
/** Keywords that are commentary whatever columns 9-10 hold. */
const COMMENTARY = new Set(['', 'COMMENT', 'HISTORY']);

/**
 * The primary HDU and image extensions of a FITS file, or of its gzip.
 * name is the file's name in error messages, each of which is one line.
 */
export function readFits(bytes: Uint8Array, name: string): FitsHdu[] {
  if (isGzip(bytes)) bytes = gunzip(bytes, name);
  if (String.fromCharCode(...bytes.subarray(0, 10)) !== 'SIMPLE  = ') {
    throw new InputError(`${name}: not a FITS file (it does not begin with 'SIMPLE  = '); expected a FITS file or its gzip`);
  }
  const hdus: FitsHdu[] = [];
  for (let offset = 0, index = 0; offset < bytes.length; index++) {
    const fail: Fail = (what) => {
      throw new InputError(`${name}: HDU ${index}: ${what}`);
    };
    const { cards, end } = readHeader(bytes, offset, fail);
    const layout = readLayout(cards, index > 0, fail);
    const bytesPerValue = Math.abs(layout.bitpix) / 8;
    const size = bytesPerValue * layout.gcount * (layout.pcount + layout.count);
    const padded = Math.ceil(size / FITS_BLOCK) * FITS_BLOCK;
    if (!Number.isSafeInteger(padded) || end + padded > bytes.length) {
      fail(
        `truncated: the data (BITPIX ${layout.bitpix}, axes ${layout.axes.join('×') || 'none'}) need ${size} bytes ` +
          `padded to ${padded} from byte ${end}, but the file ends at byte ${bytes.length}`,
      );
    }
    if (layout.image) {
      const header = new Map<string, HeaderValue>();
      for (const card of cards) if (card.value !== undefined && !header.has(card.keyword)) header.set(card.keyword, card.value);
      const data = decodePixels(new DataView(bytes.buffer, bytes.byteOffset + end, size), layout.bitpix, readScaling(cards, layout.bitpix, fail));
      hdus.push({ index, bitpix: layout.bitpix, shape: [...layout.axes].reverse(), data, header });
    }
    offset = end + padded;
  }
  return hdus;
}

/** The cards of the header starting at byte start, up to END, and the byte after its last block. */
function readHeader(bytes: Uint8Array, start: number, fail: Fail): { cards: Card[]; end: number } {
  const cards: Card[] = [];
  for (let offset = start; ; offset += CARD) {
    if (offset % FITS_BLOCK === 0 && offset + FITS_BLOCK > bytes.length) {
      if (offset === bytes.length) fail(`no END card: the header from byte ${start} runs to the end of the file`);
      fail(`truncated: the header block at byte ${offset} holds ${bytes.length - offset} of ${FITS_BLOCK} bytes`);
    }
    const number = (offset - start) / CARD + 1;
    const where = `card ${number} (byte ${offset})`;
    const raw = bytes.subarray(offset, offset + CARD);
    const bad = raw.findIndex((b) => b < 0x20 || b > 0x7e);
    if (bad >= 0) fail(`${where} is not 80 ASCII characters: byte 0x${raw[bad].toString(16).padStart(2, '0')} in column ${bad + 1}`);
    const text = String.fromCharCode(...raw);
    const keyword = text.slice(0, 8).trimEnd();
    if (!/^[A-Z0-9_-]*$/.test(keyword)) fail(`${where}: '${text.slice(0, 8)}' is not a keyword; expected A-Z, 0-9, '-' or '_', left-justified`);
    if (keyword === 'END') {
      if (text.slice(8).trim() !== '') fail(`${where}: text after END; expected columns 9-80 blank`);
      return { cards, end: Math.ceil((offset + CARD) / FITS_BLOCK) * FITS_BLOCK };
    }
    const previous = cards.at(-1);
    if (keyword === 'CONTINUE' && typeof previous?.value === 'string' && previous.value.endsWith('&')) {
      // Standard 4.0 §4.2.1.2: a long string goes on in the CONTINUE cards that follow it.
      previous.value = previous.value.slice(0, -1) + readString(text.slice(10), (what) => fail(`${where}: ${what}`)).value;
      continue;
    }
    if (COMMENTARY.has(keyword) || text.slice(8, 10) !== '= ') {
      if (VALUED.test(keyword)) fail(`${where}: ${keyword} has no '= ' in columns 9-10; expected a value`);
      cards.push({ keyword, text: '' });
      continue;
    }
    cards.push({ keyword, ...readValue(text.slice(10), (what) => fail(`${where}: ${keyword} ${what}`)) });
  }
}

/** A card's value field (columns 11-80): a string, logical, integer, real or complex, then an optional comment. */
function readValue(field: string, fail: Fail): { value?: HeaderValue; text: string } {
  if (field.trimStart().startsWith("'")) return readString(field, fail);
  const slash = field.indexOf('/');
  const text = (slash < 0 ? field : field.slice(0, slash)).trim();
  if (text === '') return { text };
  if (text === 'T' || text === 'F') return { value: text === 'T', text };
  // The standard's exponent letters are E and D; lower case is read too, its meaning being plain.
  if (/^[+-]?(\d+\.?\d*|\.\d+)([EDed][+-]?\d+)?$/.test(text)) return { value: Number(text.replace(/[Dd]/, 'E')), text };
  // Complex values are kept as written: no keyword this reader acts on has one.
  if (/^\(\s*\S+\s*,\s*\S+\s*\)$/.test(text)) return { value: text, text };
  return fail(`value '${text}' is not a FITS string, logical or number`);
}

/** A quoted string ('' stands for a quote; trailing spaces are not significant) and the comment after it. */
function readString(field: string, fail: Fail): { value: string; text: string } {
  const open = field.indexOf("'");
  if (open < 0 || field.slice(0, open).trim() !== '') return fail(`value '${field.trim()}' is not a quoted string`);
  let value = '';
  for (let at = open + 1; ; ) {
    const close = field.indexOf("'", at);
    if (close < 0) return fail(`string value ${field.trim()} has no closing quote`);
    value += field.slice(at, close);
    if (field[close + 1] === "'") {
      value += "'";
      at = close + 2;
      continue;
    }
    const rest = field.slice(close + 1).trim();
    if (rest !== '' && !rest.startsWith('/')) fail(`string value is followed by '${rest}'; expected a '/' comment or nothing`);
    return { value: value.trimEnd(), text: field.slice(open, close + 1) };
  }
}

interface Layout {
  bitpix: Bitpix;
  /** NAXIS1 … NAXISn, as the header lists them (fastest-varying first). */
  axes: number[];
  /** Values in the main data array: the product of the axes, 0 without axes. */
  count: number;
  pcount: number;
  gcount: number;
  /** Decoded (the primary HDU or an IMAGE extension), not skipped. */
  image: boolean;
}

/** The mandatory keywords, in the order and places the standard fixes for them (§4.4.1). */
function readLayout(cards: Card[], extension: boolean, fail: Fail): Layout {
  const at = (position: number, keyword: string): Card => {
    const card = cards[position];
    if (card?.keyword !== keyword) fail(`expected ${keyword} in card ${position + 1}, found ${card ? `'${card.keyword}'` : 'END'}`);
    return card;
  };
  const integer = (position: number, keyword: string, low: number, high: number): number => {
    const { value, text } = at(position, keyword);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < low || value > high) {
      fail(`${keyword} = ${text || 'nothing'}; expected an integer from ${low} to ${high}`);
    }
    return value;
  };
  const first = at(0, extension ? 'XTENSION' : 'SIMPLE');
  if (!extension && first.value !== true) fail(`SIMPLE = ${first.text}; expected T (a file that conforms to the standard)`);
  if (extension && typeof first.value !== 'string') fail(`XTENSION = ${first.text}; expected the extension type as a string`);
  const bitpix = integer(1, 'BITPIX', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (!BITPIXES.includes(bitpix)) fail(`BITPIX = ${bitpix} is not supported; expected 8, 16, 32, 64, -32 or -64`);
  const naxis = integer(2, 'NAXIS', 0, 999);
  const axes = Array.from({ length: naxis }, (_, i) => integer(3 + i, `NAXIS${i + 1}`, 0, Number.MAX_SAFE_INTEGER));
  const count = naxis === 0 ? 0 : axes.reduce((a, b) => a * b, 1);
  const pcount = extension ? integer(3 + naxis, 'PCOUNT', 0, Number.MAX_SAFE_INTEGER) : 0;
  const gcount = extension ? integer(4 + naxis, 'GCOUNT', 0, Number.MAX_SAFE_INTEGER) : 1;
  const image = !extension || first.value === 'IMAGE';
  if (!extension && axes[0] === 0 && cards.some((c) => c.keyword === 'GROUPS' && c.value === true)) {
    fail('random groups (NAXIS1 = 0, GROUPS = T) are not supported; expected an image');
  }
  if (extension && image && (pcount !== 0 || gcount !== 1)) fail(`an IMAGE extension with PCOUNT = ${pcount}, GCOUNT = ${gcount}; expected 0 and 1`);
  return { bitpix: bitpix as Bitpix, axes, count, pcount, gcount, image };
}

interface Scaling {
  bscale: number;
  bzero: number;
  /** The stored value of undefined pixels; integer images only. */
  blank?: bigint;
  /** BZERO as an exact integer, when it is one: BITPIX 64 adds it before rounding to float64. */
  bzeroInteger?: bigint;
}

function readScaling(cards: Card[], bitpix: Bitpix, fail: Fail): Scaling {
  const find = (keyword: string) => cards.find((c) => c.keyword === keyword);
  const number = (keyword: string, fallback: number): number => {
    const card = find(keyword);
    if (card === undefined) return fallback;
    if (typeof card.value !== 'number') fail(`${keyword} = ${card.text || 'nothing'}; expected a number`);
    return card.value;
  };
  const bzeroText = find('BZERO')?.text;
  const scaling: Scaling = {
    bscale: number('BSCALE', 1),
    bzero: number('BZERO', 0),
    bzeroInteger: bzeroText !== undefined && /^[+-]?\d+$/.test(bzeroText) ? BigInt(bzeroText) : undefined,
  };
  const blank = find('BLANK');
  // The standard forbids BLANK in floating-point images, whose undefined pixels are NaN;
  // writers that add one anyway do no harm, so it is ignored there rather than refused.
  if (blank !== undefined && bitpix > 0) {
    if (!/^[+-]?\d+$/.test(blank.text)) fail(`BLANK = ${blank.text || 'nothing'}; expected an integer`);
    scaling.blank = BigInt(blank.text);
  }
  return scaling;
}

/** Reads the stored value at index i of a big-endian data array, for each BITPIX but 64. */
const READERS: Record<Exclude<Bitpix, 64>, (view: DataView, i: number) => number> = {
  8: (view, i) => view.getUint8(i),
  16: (view, i) => view.getInt16(2 * i),
  32: (view, i) => view.getInt32(4 * i),
  [-32]: (view, i) => view.getFloat32(4 * i),
  [-64]: (view, i) => view.getFloat64(8 * i),
};

function decodePixels(view: DataView, bitpix: Bitpix, { bscale, bzero, blank, bzeroInteger }: Scaling): Float32Array | Float64Array {
  const count = view.byteLength / (Math.abs(bitpix) / 8);
  const out = exactInFloat32(bitpix, bscale, bzero) ? new Float32Array(count) : new Float64Array(count);
  if (bitpix === 64) {
    // Stored values past 2^53 round in float64, so an integer BZERO (2^63 for unsigned data) is added first.
    const offset = bscale === 1 ? bzeroInteger : undefined;
    for (let i = 0; i < count; i++) {
      const raw = view.getBigInt64(8 * i);
      out[i] = raw === blank ? NaN : offset !== undefined ? Number(raw + offset) : bzero + bscale * Number(raw);
    }
    return out;
  }
  const read = READERS[bitpix];
  const undefinedValue = blank === undefined ? undefined : Number(blank);
  for (let i = 0; i < count; i++) {
    const raw = read(view, i);
    out[i] = raw === undefinedValue ? NaN : bzero + bscale * raw;
  }
  return out;
}

/**
 * Whether every physical value of an image is exact in float32, so that it
 * may be stored in half the memory: unscaled float32 pixels, and 8- or 16-bit
 * integers shifted by an integer BZERO (the unsigned-16 convention's 32768)
 * that keeps them within float32's 24-bit significand.
 */
function exactInFloat32(bitpix: Bitpix, bscale: number, bzero: number): boolean {
  if (bitpix === -32) return bscale === 1 && bzero === 0;
  if (bitpix === 8 || bitpix === 16) return bscale === 1 && Number.isInteger(bzero) && Math.abs(bzero) <= 2 ** 24 - 2 ** 16;
  return false;
}
