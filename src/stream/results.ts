// Writing a batch's outcome: the results, the dead letters and the
// acknowledgement of the input entries, in one Lua script, so that Redis
// applies all of it or none (a script is atomic, as MULTI/EXEC is, and is
// logged to the AOF as one transaction). An entry's records are written
// only when the script's own XACK removed it from the group's pending list:
//  - an entry another scorer claimed and finished first is acknowledged
//    already, and its second scoring writes nothing;
//  - a script resent after a lost connection (ioredis resends what was in
//    flight) finds its entries acknowledged if the first run happened.
// So the output stream gets one result per input entry and alert, and the
// hash holds one result per candid, the latest. The latency is taken with
// the server's clock at the write, against the entry id's time (the server
// clock at XADD), so scorers on other machines agree on it.
import { createHash } from 'node:crypto';
import type { StreamKeys } from './keys.ts';
import type { RedisClient } from './redis.ts';

export type Field = [name: string, value: string | Buffer];

export interface EntryOutcome {
  id: string;
  /** One per scored alert: its candid (the hash's field) and the output stream's fields. */
  results: { candid: string; fields: Field[] }[];
  /** The dead-letter stream's fields, one entry per alert (or packet) that could not be scored. */
  dead: Field[][];
}

/**
 * KEYS: input stream, output stream, latest-result hash, dead-letter stream.
 * ARGV: group; then per entry its id, its result count and its dead-letter
 * count, each result as candid, n and n field-value pairs, each dead letter
 * as n and n pairs. Returns per entry the latency in ms, or -1 where the
 * entry was acknowledged already.
 */
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local latencies = {}
local i = 2
while i <= #ARGV do
  local id, results, dead = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  i = i + 3
  local mine = redis.call('XACK', KEYS[1], ARGV[1], id) == 1
  local latency = now - tonumber(string.match(id, '^%d+'))
  for _ = 1, results do
    local candid, n = ARGV[i], tonumber(ARGV[i + 1])
    local fields = {unpack(ARGV, i + 2, i + 1 + 2 * n)}
    i = i + 2 + 2 * n
    if mine then
      fields[#fields + 1] = 'latency_ms'
      fields[#fields + 1] = tostring(latency)
      redis.call('XADD', KEYS[2], '*', unpack(fields))
      local latest = {}
      for k = 1, #fields, 2 do latest[fields[k]] = fields[k + 1] end
      redis.call('HSET', KEYS[3], candid, cjson.encode(latest))
    end
  end
  for _ = 1, dead do
    local n = tonumber(ARGV[i])
    if mine then redis.call('XADD', KEYS[4], '*', unpack(ARGV, i + 1, i + 2 * n)) end
    i = i + 1 + 2 * n
  end
  latencies[#latencies + 1] = mine and latency or -1
end
return latencies
`;
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

export class ResultWriter {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: StreamKeys,
    private readonly group: string,
  ) {}

  /** Writes and acknowledges; per entry, its latency in ms, or null where another scorer had written it. */
  async write(entries: readonly EntryOutcome[]): Promise<(number | null)[]> {
    const args: (string | Buffer)[] = [this.keys.input, this.keys.output, this.keys.latest, this.keys.deadLetter, this.group];
    const pairs = (fields: Field[]) => [String(fields.length), ...fields.flat()];
    for (const e of entries) {
      args.push(e.id, String(e.results.length), String(e.dead.length));
      for (const r of e.results) args.push(r.candid, ...pairs(r.fields));
      for (const d of e.dead) args.push(...pairs(d));
    }
    let reply: unknown;
    try {
      reply = await this.redis.call('EVALSHA', SHA, 4, ...args);
    } catch (e) {
      // A restarted server has an empty script cache; EVAL caches it again.
      if (!(e instanceof Error && e.message.startsWith('NOSCRIPT'))) throw e;
      reply = await this.redis.call('EVAL', SCRIPT, 4, ...args);
    }
    return (reply as number[]).map((ms) => (ms < 0 ? null : ms));
  }
}
