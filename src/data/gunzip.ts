// Gzip decompression for FITS files and the stamps inside alert packets,
// platform-free (fflate is plain JavaScript). fflate neither checks the
// member's CRC-32 nor reads past the first member, so the trailer is checked
// here: a corrupt stamp must fail loudly, not decode to wrong pixels.
import { gunzipSync } from 'fflate';
import { InputError } from '../errors.ts';
import { crc32 } from './crc32.ts';

/** RFC 1952's two magic bytes. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The decompressed bytes of a single-member gzip stream; name is for error messages. */
export function gunzip(bytes: Uint8Array, name: string): Uint8Array {
  let out: Uint8Array;
  try {
    out = gunzipSync(bytes);
  } catch (e) {
    throw new InputError(`${name}: corrupt gzip data (${(e as Error).message}); expected a complete gzip stream`);
  }
  // The trailer: CRC-32 and length modulo 2^32 of the uncompressed data, little-endian.
  const trailer = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 8);
  if (trailer.getUint32(0, true) !== crc32(out) || trailer.getUint32(4, true) !== out.length % 2 ** 32) {
    throw new InputError(`${name}: gzip data fail their CRC-32 and length check; expected one intact gzip member`);
  }
  return out;
}
