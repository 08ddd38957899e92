// Avro container files written with avsc's own BlockEncoder, for tests of
// the readers (src/data/avro-container.ts, alerts.ts): any codec, including
// Avro's snappy framing, and codecs that lie about what they wrote.
import avro, { type Type } from 'avsc';
import { compress } from 'snappyjs';
import { crc32 } from '../../src/data/crc32.ts';

/** avsc's block codec: the block's bytes in, through a Node-style callback. */
export type Codec = (block: Buffer, done: (error: Error | null, out?: Buffer) => void) => void;
/** A codec that writes what it is told to, whatever the codec's name promises. */
export const writes = (bytes: (block: Buffer) => Buffer): Codec => (block, done) => done(null, bytes(block));

/** Avro's snappy framing as the Java and Python writers make it: the block compressed, then the CRC-32 of the original, big-endian. */
const snappyBlock = writes((block) => {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(block));
  return Buffer.concat([compress(block), crc]);
});

/** A container file written by avsc's BlockEncoder; blockSize 1 gives each record a block of its own. */
export function container(type: Type, records: unknown[], codec = 'null', options: { blockSize?: number; codecs?: Record<string, Codec> } = {}): Promise<Buffer> {
  const codecs = { ...avro.streams.BlockEncoder.defaultCodecs(), snappy: snappyBlock, ...options.codecs };
  const encoder = new avro.streams.BlockEncoder(type, { codec, blockSize: options.blockSize, codecs });
  const chunks: Buffer[] = [];
  encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    encoder.on('end', () => resolve(Buffer.concat(chunks)));
    encoder.on('error', reject);
  });
  for (const record of records) encoder.write(record);
  encoder.end();
  return done;
}

