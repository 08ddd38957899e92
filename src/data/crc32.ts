// CRC-32 (IEEE 802.3, the polynomial of gzip, zlib and PNG), platform-free:
// it guards the gzip members of FITS files and Avro's snappy blocks, whose
// decompressors do not check it themselves.

/** One table entry per byte value, for the reflected polynomial 0xEDB88320. */
const TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** The CRC-32 of bytes, as an unsigned 32-bit integer. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
