// Avro Object Container Files read from bytes (Avro 1.11, "Object Container
// Files"), with no file system, so that alert packets can decode wherever the
// bytes come from. avsc decodes the values; the container's framing and its
// codecs (null, deflate, snappy) are read here, since avsc's own container
// reader is a Node stream over a file. avsc works on Buffers: a browser
// bundle needs the npm polyfills for 'buffer' and 'util' (avsc requires both).
// Records are decoded with the writer's schema from the header, so every
// schema version reads without a reader schema to keep in step.
import avro, { type Type } from 'avsc';
import { Buffer } from 'buffer';
import { inflateSync } from 'fflate';
import { uncompress } from 'snappyjs';
import { InputError } from '../errors.ts';
import { crc32 } from './crc32.ts';

export interface AvroContainer {
  /** The writer's schema, as parsed by avroType. */
  type: Type;
  codec: string;
  records: unknown[];
}

const MAGIC = [0x4f, 0x62, 0x6a, 0x01]; // "Obj" 1
const SYNC_BYTES = 16;
const CODECS = ['null', 'deflate', 'snappy'] as const;

const HEADER = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: MAGIC.length } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: SYNC_BYTES } },
  ],
});
/** Each block opens with its count of records and its size in bytes after compression (both far below 2^53). */
const BLOCK_HEADER = avro.Type.forSchema({
  type: 'record',
  name: 'BlockHeader',
  fields: [
    { name: 'count', type: 'long' },
    { name: 'size', type: 'long' },
  ],
});

/**
 * Avro longs as bigint: ZTF's candid and Rubin's diaSourceId pass 2^53,
 * where avsc's default long type refuses to decode rather than round.
 * avsc hands over the long as 8 little-endian bytes.
 */
const BIGINT_LONG = avro.types.LongType.__with({
  fromBuffer: (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true),
  toBuffer: (n: bigint | number) => {
    const b = Buffer.alloc(8);
    new DataView(b.buffer, b.byteOffset, 8).setBigInt64(0, BigInt(n), true);
    return b;
  },
  fromJSON: (n: number | string) => BigInt(n),
  toJSON: (n: bigint) => (Number.isSafeInteger(Number(n)) ? Number(n) : String(n)),
  isValid: (n: unknown) => typeof n === 'bigint' || Number.isSafeInteger(n),
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

/**
 * A schema as the reader uses it: longs as bigint, and field defaults
 * dropped. Defaults only matter when a reader's schema is resolved against
 * a writer's, which never happens here, and ZTF's published schemas carry
 * some that Avro's rules reject (a null default on a union whose first
 * branch is not null), which avsc refuses to parse.
 */
export function avroType(schema: unknown): Type {
  return avro.Type.forSchema(withoutDefaults(schema) as avro.Schema, { registry: { long: BIGINT_LONG } });
}

function withoutDefaults(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutDefaults);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(Object.entries(schema).filter(([key]) => key !== 'default').map(([key, value]) => [key, withoutDefaults(value)]));
}

/**
 * Parsed writer's schemas by their text: a stream of packets shares one
 * schema, and compiling it (about 5 ms for ZTF's) costs more than decoding a
 * packet. A few schemas are kept, the oldest dropped first.
 */
const TYPES = new Map<string, Type>();
const TYPES_KEPT = 16;

function typeOf(schema: string): Type {
  let type = TYPES.get(schema);
  if (type === undefined) {
    type = avroType(JSON.parse(schema));
    if (TYPES.size === TYPES_KEPT) TYPES.delete(TYPES.keys().next().value as string);
    TYPES.set(schema, type);
  }
  return type;
}

/** Every record of a container file; name is the file's name in error messages, each of which is one line. */
export function readAvroContainer(bytes: Uint8Array, name: string): AvroContainer {
  const fail = (what: string): never => {
    throw new InputError(`${name}: ${what}`);
  };
  if (!MAGIC.every((b, i) => bytes[i] === b)) fail("not an Avro container file (it does not begin with 'Obj' 1); expected an Avro alert packet");
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = decodeAt<{ meta: Record<string, Buffer>; sync: Buffer }>(HEADER, buffer, 0, 'the header', fail);
  const { meta, sync } = header.value;
  const codec = meta['avro.codec']?.toString() ?? 'null';
  if (!(CODECS as readonly string[]).includes(codec)) fail(`codec '${codec}' is not supported; expected ${CODECS.join(', ')}`);
  if (!meta['avro.schema']) fail("no 'avro.schema' in the header; expected the writer's schema");
  let type: Type;
  try {
    type = typeOf(meta['avro.schema'].toString());
  } catch (e) {
    return fail(`the writer's schema in the header is not a valid Avro schema (${(e as Error).message})`);
  }

  const records: unknown[] = [];
  for (let at = header.offset, block = 0; at < buffer.length; block++) {
    const { value, offset: start } = decodeAt<{ count: number; size: number }>(BLOCK_HEADER, buffer, at, `block ${block}'s header (byte ${at})`, fail);
    const { count, size } = value;
    if (count < 0 || size < 0) fail(`block ${block} (byte ${at}) declares ${count} records in ${size} bytes; the file is corrupt`);
    const end = start + size;
    if (end + SYNC_BYTES > buffer.length) {
      fail(`truncated: block ${block} needs ${size} bytes and a sync marker from byte ${start}, but the file ends at byte ${buffer.length}`);
    }
    if (!buffer.subarray(end, end + SYNC_BYTES).equals(sync)) fail(`bad sync marker after block ${block} (byte ${end}); the file is corrupt`);
    const data = decompress(codec, buffer.subarray(start, end), (what) => fail(`block ${block}: ${what}`));
    let position = 0;
    for (let i = 0; i < count; i++) {
      const record = decodeAt<unknown>(type, data, position, `record ${i} of block ${block}`, fail);
      records.push(record.value);
      position = record.offset;
    }
    if (position !== data.length) fail(`block ${block} holds ${data.length - position} bytes after its ${count} records; the file is corrupt`);
    at = end + SYNC_BYTES;
  }
  return { type, codec, records };
}

/** A value decoded at pos; one that runs past the bytes, or that avsc cannot read, fails. */
function decodeAt<T>(type: Type, buffer: Buffer, pos: number, what: string, fail: (what: string) => never): { value: T; offset: number } {
  let decoded: { value: T; offset: number };
  try {
    decoded = type.decode(buffer, pos);
  } catch (e) {
    return fail(`${what} is corrupt (${(e as Error).message})`);
  }
  if (decoded.offset < 0) fail(`truncated or corrupt: ${what} runs past the end of its bytes`);
  return decoded;
}

function decompress(codec: string, block: Buffer, fail: (what: string) => never): Buffer {
  try {
    if (codec === 'deflate') return asBuffer(inflateSync(block));
    if (codec === 'snappy') {
      // Avro's snappy framing: the compressed bytes, then the big-endian CRC-32 of the uncompressed ones.
      const data = uncompress(block.subarray(0, block.length - 4));
      if (block.readUInt32BE(block.length - 4) !== crc32(data)) fail('snappy data fail their CRC-32 check; the file is corrupt');
      return asBuffer(data);
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    return fail(`corrupt ${codec} data (${(e as Error).message})`);
  }
  return block;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
