// How fast alert packets become network input: ZTF packets (the fixtures'
// real ones, repeated) through the same reader `predict` uses, readAlertSet:
// Avro records, three gunzipped FITS stamps each, braai's preprocessing. The
// bytes are in memory, so disk speed stays out of the figure.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAlertSet } from '../src/data/alert-dataset.ts';
import { sampleCount } from '../src/data/dataset.ts';
import { spread } from './timing.ts';

const PACKETS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'ztf');

export interface DecodeFigures {
  packets: number;
  /** Median over the passes, with the spread. */
  packets_per_s: number;
  packets_per_s_min: number;
  packets_per_s_max: number;
  seconds: number;
  passes: number;
  preprocess: 'braai';
}

/** Decodes `packets` alerts (the fixture files in turn) `passes` times after a warm-up pass. */
export function measureDecode(packets: number, passes: number): DecodeFigures {
  const fixtures = readdirSync(PACKETS)
    .filter((n) => n.endsWith('.avro'))
    .sort()
    .map((n) => ({ name: n, bytes: new Uint8Array(readFileSync(join(PACKETS, n))) }));
  const files = Array.from({ length: packets }, (_, i) => fixtures[i % fixtures.length]);
  const pass = () => {
    const t0 = performance.now();
    const dataset = readAlertSet(files, 'fixture packets', { preprocess: 'braai' });
    const seconds = (performance.now() - t0) / 1000;
    if (sampleCount(dataset) !== packets) throw new Error(`decoded ${sampleCount(dataset)} of ${packets} packets`);
    return seconds;
  };
  pass();
  const seconds = Array.from({ length: passes }, pass);
  const rate = spread(seconds.map((s) => packets / s));
  return { packets, packets_per_s: rate.median, packets_per_s_min: rate.min, packets_per_s_max: rate.max, seconds: spread(seconds).median, passes, preprocess: 'braai' };
}
