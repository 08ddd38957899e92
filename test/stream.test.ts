// Scoring alert streams on Redis Streams consumer groups (issue 12), with
// real processes only: a redis-server per test (test/support/redis.ts),
// `handscan replay` pushing packets, `handscan serve` scorers scoring them
// with braai d6_m7. Each test is one of the "what it must show":
// the baseline against predict, scorers killed mid-batch, Redis killed and
// restarted from its AOF, poison packets, and a graceful stop.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePackets, type WrittenPacket } from './support/alert-packets.ts';
import { handscan } from './support/cli.ts';
import type { RedisServer } from './support/redis.ts';
import { event } from './support/scorers.ts';
import { until, useStreamProcesses } from './support/stream-processes.ts';

const D6_M7 = 'test/fixtures/braai/d6_m7.h5';
const STREAM = 'alerts';
const GROUP = 'scorers';
const OUT = `${STREAM}:scores`;
const LATEST = `${OUT}:latest`;
const DEAD = `${STREAM}:dead`;
/** Scores of the same packets by serve and by predict (both print 7 digits). */
const SAME_SCORE = 1e-6;

const dir = mkdtempSync(join(tmpdir(), 'handscan-stream-'));
let packets: WrittenPacket[] = [];
const packetDir = join(dir, 'packets');
beforeAll(async () => {
  mkdirSync(packetDir);
  packets = await writePackets(packetDir, 2000);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Whatever a test started is stopped, pass or fail.
const processes = useStreamProcesses();
const redisServer = () => processes.redis();
const scorer = (server: RedisServer, name: string, extra: string[] = []) =>
  processes.scorer(name, ['--weights', D6_M7, '--preprocess', 'braai-rows', '--redis', server.url, '--stream', STREAM, '--group', GROUP, '--batch', '32', ...extra]);

async function replay(server: RedisServer, data: string, extra: string[] = []): Promise<void> {
  const r = await handscan(['replay', '--redis', server.url, '--stream', STREAM, '--data', data, ...extra]);
  expect(r.code, r.stderr).toBe(0);
}

/** XINFO GROUPS' fields of the group. */
async function groupInfo(c: Redis): Promise<Record<string, unknown>> {
  const groups = (await c.call('XINFO', 'GROUPS', STREAM)) as unknown[][];
  const flat = groups.find((g) => g[1] === GROUP)!;
  return Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]));
}

/** The group has delivered the stream's last entry to some consumer. */
async function allDelivered(c: Redis): Promise<boolean> {
  const [last] = (await c.call('XREVRANGE', STREAM, '+', '-', 'COUNT', 1)) as [string, unknown][];
  return (await groupInfo(c))['last-delivered-id'] === last?.[0];
}

/**
 * Every one of the stream's `entries` handled: the group has delivered up to
 * the last entry, none is pending, and each was acknowledged with its result
 * or dead-lettered. Counted from the streams, not from XINFO's entries-read
 * and lag, which Redis leaves inexact once a group's state is replayed from
 * the AOF (a restart's run ends with lag 256 and every entry acknowledged).
 */
async function drained(c: Redis, entries: number): Promise<boolean> {
  if ((await groupInfo(c)).pending !== 0 || !(await allDelivered(c)) || Number(await c.call('XLEN', STREAM)) !== entries) return false;
  return Number(await c.call('XLEN', OUT)) + Number(await c.call('XLEN', DEAD)) >= entries;
}

/** A stream's entries as field objects, in order. */
async function entriesOf(c: Redis, key: string): Promise<(Record<string, string> & { id: string })[]> {
  const raw = (await c.call('XRANGE', key, '-', '+')) as [string, string[]][];
  return raw.map(([id, f]) => ({ id, ...Object.fromEntries(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i], f[2 * i + 1]])) }));
}

async function latest(c: Redis): Promise<Map<string, Record<string, string>>> {
  const flat = (await c.call('HGETALL', LATEST)) as string[];
  return new Map(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], JSON.parse(flat[2 * i + 1])]));
}

/** Entries `consumer` has read and not acknowledged; with `sinceMs`, only those it read in the last `sinceMs`. */
async function pendingOf(c: Redis, consumer: string, sinceMs = Infinity): Promise<number> {
  const entries = (await c.call('XPENDING', STREAM, GROUP, '-', '+', 10_000, consumer)) as [string, string, number, number][];
  return entries.filter(([, , idleMs]) => idleMs < sinceMs).length;
}

/**
 * What every run must end with: each input entry acknowledged, one result
 * per entry on the output stream and one per candid in the hash, for
 * exactly `candids`; and no acknowledged entry without a result or a dead letter.
 */
async function expectEveryResultOnce(c: Redis, candids: readonly string[]): Promise<(Record<string, string> & { id: string })[]> {
  const input = await entriesOf(c, STREAM);
  const output = await entriesOf(c, OUT);
  const dead = await entriesOf(c, DEAD);
  // Delivered to the last entry, none pending (XINFO's lag and entries-read are inexact after an AOF replay: see drained).
  expect(await groupInfo(c)).toMatchObject({ pending: 0, 'last-delivered-id': input.at(-1)!.id });
  expect(output.map((r) => r.candid).sort()).toEqual([...candids].sort());
  const hash = await latest(c);
  expect([...hash.keys()].sort()).toEqual([...candids].sort());
  const answered = new Set([...output, ...dead].map((r) => r.entry));
  expect(input.filter((e) => !answered.has(e.id)).map((e) => e.id)).toEqual([]);
  return output;
}

describe('serve on a Redis stream', () => {
  it('baseline: 2,000 alerts, 3 scorers: one result per candid, the scores predict gives the same packets', async () => {
    const server = await redisServer();
    const c = server.client();
    const three = ['a', 'b', 'c'].map((name) => scorer(server, name));
    await Promise.all(three.map((s) => s.waitFor(event('ready'))));
    await replay(server, packetDir);
    await until('2,000 entries scored', () => drained(c, 2000));
    const output = await expectEveryResultOnce(c, packets.map((p) => p.candid));
    // The group shared the work.
    expect(new Set(output.map((r) => r.consumer))).toEqual(new Set(['a', 'b', 'c']));
    for (const s of three) s.proc.kill('SIGTERM');
    for (const s of three) expect((await s.exited).code, s.stderr()).toBe(0);

    const csv = join(dir, 'predict.csv');
    const p = await handscan(['predict', '--weights', D6_M7, '--data', packetDir, '--preprocess', 'braai-rows', '--out', csv]);
    expect(p.code, p.stderr).toBe(0);
    const predicted = new Map(readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((row) => row.split(',')).map(([id, pReal]) => [id, pReal]));
    const hash = await latest(c);
    expect(predicted.size).toBe(2000);
    for (const [candid, result] of hash) {
      // The same kernels, in batches of other sizes: equal to float32's last digits.
      expect(Math.abs(Number(result.p_real) - Number(predicted.get(candid))), `candid ${candid}: serve ${result.p_real}, predict ${predicted.get(candid)}`).toBeLessThan(SAME_SCORE);
      expect(result).toMatchObject({ model: 'd6_m7', preprocess: 'braai-rows', drbversion: 'd6_m7' });
      expect(result.model_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(Number(result.latency_ms)).toBeGreaterThanOrEqual(0);
    }
  });

  it('a scorer dies: SIGKILLed mid-batch twice, every candid still gets one result', async () => {
    const server = await redisServer();
    const c = server.client();
    const claimFast = ['--claim-idle-ms', '1500'];
    const [b, cc] = ['b', 'c'].map((name) => scorer(server, name, claimFast));
    let a = scorer(server, 'a', claimFast);
    // A restarted `a` shares its name with the dead one, whose entries wait under it until claimed:
    // what the live process holds is what it read since it started.
    let started = Date.now();
    const held = () => pendingOf(c, 'a', Date.now() - started);
    await Promise.all([a, b, cc].map((s) => s.waitFor(event('ready'))));
    // A steady stream, so that there is work before, between and after the kills.
    const pushing = replay(server, packetDir, ['--rate', '100']);
    // Fresh packets, written as needed, for when everything has been delivered and `a` holds nothing.
    const extraDir = join(dir, 'extra');
    mkdirSync(extraDir);
    const extra: WrittenPacket[] = [];
    const holding = async (): Promise<boolean> => {
      if ((await held()) > 0) return true;
      if (a.logs.some(event('ready')) && (await allDelivered(c))) {
        // 32 among three scorers blocked on reads of 32: `a` gets some.
        const more = await writePackets(extraDir, 32, { from: 20_000 + extra.length });
        for (const p of more) await c.call('XADD', STREAM, '*', 'packet', readFileSync(p.file));
        extra.push(...more);
      }
      return false;
    };
    // Two kills that land mid-batch, while `a` holds entries it has read and
    // not acknowledged; a kill that lands just after an acknowledgement (on a
    // loaded machine, between our look at the pending list and the signal)
    // does not count, and is tried again.
    for (let kills = 0, tries = 0; kills < 2; tries++) {
      expect(tries, 'kills that landed mid-batch').toBeLessThan(10);
      await until('a batch in hand', holding);
      a.proc.kill('SIGKILL');
      await a.exited;
      if ((await held()) > 0) kills++;
      // Restarted under the same name, as a supervisor would, except after the last kill.
      if (kills < 2) {
        started = Date.now();
        a = scorer(server, 'a', claimFast);
      }
    }
    await pushing;
    const all = [...packets, ...extra];
    await until(`${all.length} entries scored`, () => drained(c, all.length));
    await expectEveryResultOnce(c, all.map((p) => p.candid));
    // The survivors took the dead one's entries over.
    const claimed = [b, cc].flatMap((s) => s.logs.filter(event('claimed')));
    expect(claimed.length).toBeGreaterThan(0);
  });

  it('Redis restarts: killed and restarted from its AOF mid-run, the scorers reconnect and nothing is lost', async () => {
    const server = await redisServer();
    const c = server.client();
    const two = ['a', 'b'].map((name) => scorer(server, name, ['--claim-idle-ms', '3000']));
    await Promise.all(two.map((s) => s.waitFor(event('ready'))));
    const some = packets.slice(0, 1000);
    // The first 1,000 (candids …0000 to …0999).
    await replay(server, join(packetDir, '3000000000000000[0-9][0-9][0-9].avro'));
    await until('a quarter scored', async () => Number(await c.call('HLEN', LATEST)) >= 250);
    await server.kill();
    await new Promise((r) => setTimeout(r, 1000));
    await server.restart();
    const state = async () => `group ${JSON.stringify(await groupInfo(c))}, ${await c.call('HLEN', LATEST)} results; ${two.map((s) => s.stderr().slice(-600)).join(' | ')}`;
    await until('1,000 entries scored', () => drained(c, 1000), 150_000, state);
    await expectEveryResultOnce(c, some.map((p) => p.candid));
    for (const s of two) expect(s.logs.some(event('redis_reconnected')), s.stderr().slice(-2000)).toBe(true);
  });

  it('poison packets: the 1% that are corrupt land in the dead-letter stream with their error; the rest are scored', async () => {
    const server = await redisServer();
    const c = server.client();
    const poisonDir = join(dir, 'poison');
    mkdirSync(poisonDir);
    // 10 of 1,000: 5 with a science stamp that is not FITS (replayed), 5 cut short (pushed as bytes).
    const bad = new Set([50, 250, 450, 650, 850]);
    const written = await writePackets(poisonDir, 995, { from: 10_000, corrupt: (i) => bad.has(i) });
    // An entry that has "crashed" a scorer nine times already: delivered 9 times to a consumer that never acknowledged.
    await c.call('XGROUP', 'CREATE', STREAM, GROUP, '0', 'MKSTREAM');
    const crashing = String(await c.call('XADD', STREAM, '*', 'packet', readFileSync(written[0].file)));
    await c.call('XREADGROUP', 'GROUP', GROUP, 'crashed', 'COUNT', 1, 'STREAMS', STREAM, '>');
    await c.call('XCLAIM', STREAM, GROUP, 'crashed', 0, crashing, 'RETRYCOUNT', 9);
    await replay(server, poisonDir);
    const truncated = written.slice(1, 6).map((p) => readFileSync(p.file).subarray(0, 300));
    for (const bytes of truncated) await c.call('XADD', STREAM, '*', 'packet', bytes);
    scorer(server, 'a', ['--claim-idle-ms', '500', '--max-deliveries', '3']);
    await until('every entry scored or dead-lettered', () => drained(c, 1001));
    const dead = await entriesOf(c, DEAD);
    expect(dead).toHaveLength(11);
    const corruptCandids = written.filter((_, i) => bad.has(i)).map((p) => p.candid);
    const byCutout = dead.filter((d) => /cutoutScience: not a FITS file/.test(d.error));
    expect(byCutout.map((d) => d.alert).sort()).toEqual(corruptCandids.sort());
    expect(dead.filter((d) => /truncated|corrupt/.test(d.error) && d.alert === '')).toHaveLength(5);
    const redelivered = dead.filter((d) => d.entry === crashing);
    expect(redelivered).toHaveLength(1);
    expect(redelivered[0].error).toMatch(/delivered 10 times, more than --max-deliveries 3/);
    // Each dead letter carries its packet, byte for byte, to be replayed once fixed.
    const raw = (await c.callBuffer('XRANGE', DEAD, '-', '+')) as [Buffer, Buffer[]][];
    const input = new Map(((await c.callBuffer('XRANGE', STREAM, '-', '+')) as [Buffer, Buffer[]][]).map(([id, f]) => [id.toString(), f[1]]));
    for (const [, f] of raw) {
      const fields = new Map(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i].toString(), f[2 * i + 1]]));
      expect(Buffer.compare(fields.get('packet')!, input.get(fields.get('entry')!.toString())!)).toBe(0);
    }
    const scored = await latest(c);
    // The dead-lettered redelivery's packet was replayed too, and that entry scored.
    expect([...scored.keys()].sort()).toEqual(written.filter((_, i) => !bad.has(i)).map((p) => p.candid).sort());
  });

  it('graceful stop: SIGTERM during a batch exits 0, with nothing pending for that consumer', async () => {
    const server = await redisServer();
    const c = server.client();
    // The first 300 (candids …0000 to …0299).
    await replay(server, join(packetDir, '3000000000000000[0-2]*.avro'));
    const entries = Number(await c.call('XLEN', STREAM));
    const a = scorer(server, 'a');
    await a.waitFor(event('batch'));
    a.proc.kill('SIGTERM');
    const { code } = await a.exited;
    expect(code, a.stderr()).toBe(0);
    expect(await pendingOf(c, 'a')).toBe(0);
    const g = await groupInfo(c);
    // It stopped before the end, and every entry it read has its result.
    expect(g['entries-read']).toBeLessThan(entries);
    expect(g.pending).toBe(0);
    expect(Number(await c.call('XLEN', OUT))).toBe(g['entries-read']);
    expect(a.logs.find(event('stopped'))).toMatchObject({ left_group: true });
  });
});
