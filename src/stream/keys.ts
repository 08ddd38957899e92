// The Redis keys of one scoring service. Only the input stream must be
// named; the rest follow from it, so that every scorer of a group, and every
// consumer of its results, finds them without being told:
//   IN                   alert packets (field `packet`), read by consumer group G
//   IN:scores            one entry per scored alert (--out-stream)
//   IN:scores:latest     hash: candid → the latest result, as JSON
//   IN:dead              packets that could not be scored, with the error (--dead-letter)
// In a Redis Cluster the results, the dead letters and the acknowledgement of
// a batch are written by one script, which must find all its keys in one
// hash slot: the names must share a hash tag ('{ztf}:alerts' does, and so do
// the names derived from it).
import { UsageError } from '../errors.ts';

export interface StreamKeys {
  input: string;
  output: string;
  latest: string;
  deadLetter: string;
}

export function streamKeys(input: string, output = `${input}:scores`, deadLetter = `${input}:dead`): StreamKeys {
  return { input, output, latest: `${output}:latest`, deadLetter };
}

/** Redis Cluster's rule: the part between the first '{' and the next '}', when not empty, decides the slot; else the whole key. */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** In a cluster: every key in the input stream's slot, as a one-line UsageError naming the first that is not. */
export function checkOneSlot(command: string, keys: StreamKeys): void {
  const tag = hashTag(keys.input);
  const other = [keys.output, keys.latest, keys.deadLetter].find((k) => hashTag(k) !== tag);
  if (other === undefined) return;
  throw new UsageError(
    `${command}: in a Redis Cluster the streams must share a hash tag, so that results and acknowledgements go in one script; '${other}' and '${keys.input}' do not (name them like '{ztf}:alerts' and '{ztf}:scores')`,
  );
}
