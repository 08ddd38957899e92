// Many distinct alert packets from the nine real ZTF fixture packets: each
// copy is the fixture's record re-encoded with its own schema and a new
// candid (top level and in the candidate), so that a test can stream
// thousands of alerts whose cutouts, and so whose scores, are the
// fixtures'. A corrupt copy has a science stamp that is not a FITS file.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAvroContainer } from '../../src/data/avro-container.ts';
import { container } from './avro-file.ts';

export const FIXTURE_PACKETS = 'test/fixtures/ztf';
/** Past 2^53, as ZTF's candids are. */
const FIRST_CANDID = 3_000_000_000_000_000_000n;

export interface WrittenPacket {
  file: string;
  candid: string;
  /** The fixture's own candid: predict's id for the same cutouts. */
  fixture: string;
}

function fixtures() {
  return readdirSync(FIXTURE_PACKETS)
    .filter((n) => n.endsWith('.avro'))
    .sort()
    .map((n) => {
      const { type, records } = readAvroContainer(readFileSync(join(FIXTURE_PACKETS, n)), n);
      return { type, record: records[0] as Record<string, unknown> & { candid: bigint; candidate: Record<string, unknown> } };
    });
}

/**
 * Writes `count` packets into `dir` (`<candid>.avro`), fixture i % 9 with
 * candid FIRST_CANDID + from + i; `corrupt(i)` breaks packet i's science stamp.
 */
export async function writePackets(dir: string, count: number, options: { from?: number; corrupt?: (i: number) => boolean } = {}): Promise<WrittenPacket[]> {
  const all = fixtures();
  const written: WrittenPacket[] = [];
  for (let i = 0; i < count; i++) {
    const { type, record } = all[i % all.length];
    const candid = FIRST_CANDID + BigInt((options.from ?? 0) + i);
    const copy: Record<string, unknown> = { ...record, candid, candidate: { ...record.candidate, candid } };
    if (options.corrupt?.(i)) copy.cutoutScience = { ...(record.cutoutScience as object), stampData: Buffer.from('not a FITS stamp') };
    const file = join(dir, `${candid}.avro`);
    writeFileSync(file, await container(type, [copy]));
    written.push({ file, candid: String(candid), fixture: String(record.candid) });
  }
  return written;
}
