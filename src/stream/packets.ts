// Alert packets from files, one stream entry each, for `replay`: --data is
// read by load.ts's rules for alert packets (an .avro file, a folder of
// them, or a glob pattern). A file that holds one alert, as ZTF's and
// Rubin's brokers write them, becomes an entry as it is; one that holds
// several is split into one container per alert, written with the file's
// schema (avsc writes it without field defaults, which no reader of a
// container uses). A file that is not an Avro container is refused: replay
// stands in for a broker, which sends packets it could read.
import avro, { type Type } from 'avsc';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readAvroContainer } from '../data/avro-container.ts';
import { expandGlob } from '../data/load.ts';
import { InputError } from '../errors.ts';

const AVRO = /\.avro$/i;
const GLOB = /[*?[]/;

/** The .avro files `path` names, in order; a one-line InputError when it names anything else. */
export function packetFiles(path: string): string[] {
  const stat = statSync(path, { throwIfNoEntry: false });
  const expected = 'expected an .avro alert packet file, a folder of them, or a glob pattern of them (e.g. night/*.avro)';
  let files: string[];
  if (stat?.isDirectory()) files = readdirSync(path).filter((n) => !n.startsWith('.')).sort().map((n) => join(path, n));
  else if (stat) files = [path];
  else if (GLOB.test(path)) files = expandGlob(path);
  else throw new InputError(`${path}: no such file or folder; ${expected}`);
  if (files.length === 0) throw new InputError(`${path}: no .avro files in it; ${expected}`);
  const other = files.find((f) => !AVRO.test(f) || !statSync(f).isFile());
  if (other !== undefined) throw new InputError(`${other}: not an .avro file; ${expected}`);
  return files;
}

/** The entries of one file: its bytes when it holds one alert, else one container per alert. */
export async function packetsOf(file: string): Promise<Buffer[]> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InputError(`${file}: not readable (${(e as Error).message})`);
  }
  const { type, records } = readAvroContainer(bytes, file);
  if (records.length === 1) return [bytes];
  return Promise.all(records.map((r) => container(type, r)));
}

/** One record as an Avro container of its own (codec null). */
function container(type: Type, record: unknown): Promise<Buffer> {
  const encoder = new avro.streams.BlockEncoder(type);
  const chunks: Buffer[] = [];
  encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    encoder.on('end', () => resolve(Buffer.concat(chunks)));
    encoder.on('error', reject);
  });
  encoder.end(record);
  return done;
}
