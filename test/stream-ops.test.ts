// Running `handscan serve` and `replay`: the command-line errors (one line,
// exit 2 for a bad command line, 1 for an unreachable server or a bad file),
// /metrics in Prometheus's format, a lost GPU device survived by opening a
// new engine, a Redis Cluster (one node holding every slot), and cutout
// records beside packets.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { readAvroContainer } from '../src/data/avro-container.ts';
import { FIXTURE_PACKETS } from './support/alert-packets.ts';
import { errorLines, handscan } from './support/cli.ts';
import { event } from './support/scorers.ts';
import { until, useStreamProcesses } from './support/stream-processes.ts';

const D6_M7 = 'test/fixtures/braai/d6_m7.h5';
const dir = mkdtempSync(join(tmpdir(), 'handscan-stream-ops-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const processes = useStreamProcesses();
const redisServer = processes.redis;
const scorer = (name: string, args: string[], env: Record<string, string> = {}) => processes.scorer(name, ['--weights', D6_M7, '--preprocess', 'braai-rows', ...args], env);

const drained = async (c: Redis, stream: string, group: string, entries: number) => {
  const g = ((await c.call('XINFO', 'GROUPS', stream)) as unknown[][]).find((x) => x[1] === group);
  if (g === undefined) return false;
  const info = Object.fromEntries(Array.from({ length: g.length / 2 }, (_, i) => [g[2 * i], g[2 * i + 1]]));
  return info['entries-read'] === entries && info.pending === 0;
};

describe('serve and replay: the command line', () => {
  it('a bad --redis URL, an unknown option, a missing option: exit 2; an unreachable Redis, a file that is not Avro: exit 1; one line each', async () => {
    const base = ['--weights', D6_M7, '--stream', 'alerts', '--group', 'g'];
    const notAvro = join(dir, 'notes.avro');
    writeFileSync(notAvro, 'not a packet');
    const cases: [string[], number, RegExp][] = [
      [['serve', ...base, '--redis', 'localhost:6379'], 2, /^handscan: serve: --redis must be a URL like redis:\/\/127\.0\.0\.1:6379 \(rediss:\/\/ for TLS\), got 'localhost:6379'$/],
      [['serve', ...base, '--redis', 'redis://127.0.0.1:1', '--batches', '8'], 2, /^handscan: serve: Unknown option '--batches'/],
      [['serve', '--weights', D6_M7, '--redis', 'redis://127.0.0.1:1', '--stream', 'alerts'], 2, /^handscan: serve: --group is required/],
      [['serve', ...base, '--redis', 'redis://127.0.0.1:1', '--batch', '0'], 2, /^handscan: serve: --batch must be an integer in 1\.\.4096, got '0'$/],
      [['serve', ...base, '--redis', 'redis://127.0.0.1:1'], 1, /^handscan: serve: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1$/],
      [['replay', '--redis', 'redis://127.0.0.1:1', '--stream', 'alerts', '--data', notAvro], 1, /^handscan: .*notes\.avro: not an Avro container file/],
      [['replay', '--redis', 'redis://127.0.0.1:1', '--stream', 'alerts', '--data', FIXTURE_PACKETS, '--rate', '-5'], 2, /^handscan: replay: --rate must be entries per second/],
    ];
    const results = await Promise.all(cases.map(([args]) => handscan(args)));
    results.forEach((r, i) => {
      const [args, code, message] = cases[i];
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
      expect(errorLines(r), args.join(' ')).toHaveLength(1);
      expect(errorLines(r)[0]).toMatch(message);
    });
  });
});

describe('serve in operation', () => {
  it('survives a lost device by opening a new engine, scores every alert once, and serves /metrics', async () => {
    const server = await redisServer();
    const c = server.client();
    // 8 passes over the 9 fixtures: 72 entries, 8 results per candid on the stream, 1 in the hash.
    const r = await handscan(['replay', '--redis', server.url, '--stream', 'alerts', '--data', FIXTURE_PACKETS, '--loop', '8']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^replay: 72 entries \(8 passes over 9 packets from test\/fixtures\/ztf\) to alerts in /);
    // Each engine's device is destroyed after its 6th submit: the warm-up, then a batch of 16 takes two.
    const s = scorer('a', ['--redis', server.url, '--stream', 'alerts', '--group', 'g', '--batch', '16', '--metrics-port', '0'], { HANDSCAN_DESTROY_DEVICE_AFTER: '6' });
    const ready = await s.waitFor(event('ready'));
    await until('72 entries scored', () => drained(c, 'alerts', 'g', 72));
    expect(Number(await c.call('XLEN', 'alerts:scores'))).toBe(72);
    expect(Number(await c.call('HLEN', 'alerts:scores:latest'))).toBe(9);
    expect(s.logs.filter(event('device_error')).length).toBeGreaterThan(0);
    expect(s.logs.find(event('device_error'))!.error).toMatch(/^WebGPU device lost/);
    expect(s.logs.filter(event('device_reopened')).length).toBeGreaterThan(0);

    const url = ready.metrics as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const response = await fetch(url);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const sample = (name: string) => Number(new RegExp(`^${name.replace(/[{}"+.]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(sample('handscan_alerts_scored_total')).toBe(72);
    expect(sample('handscan_dead_lettered_total')).toBe(0);
    expect(sample('handscan_device_errors_total')).toBeGreaterThan(0);
    expect(sample('handscan_batch_alerts_count')).toBeGreaterThanOrEqual(5);
    expect(sample('handscan_batch_alerts_bucket{le="+Inf"}')).toBe(sample('handscan_batch_alerts_count'));
    expect(sample('handscan_batch_alerts_sum')).toBe(72);
    expect(sample('handscan_alert_latency_seconds{quantile="0.99"}')).toBeGreaterThan(0);
    expect(sample('handscan_alert_latency_seconds_count')).toBe(72);
    expect(sample('handscan_stage_seconds_total{stage="gpu"}')).toBeGreaterThan(0);
    expect(text).toMatch(/^# TYPE handscan_alert_latency_seconds summary$/m);
    expect(text).toMatch(/^# TYPE handscan_pending_entries gauge$/m);
    expect((await fetch(url.replace('/metrics', '/'))).status).toBe(404);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code, s.stderr()).toBe(0);
  });

  it('a Redis Cluster: streams sharing a hash tag are scored; streams in other slots are refused with one line', async () => {
    const server = await redisServer({ cluster: true });
    const c = server.client();
    const stream = '{ztf}:alerts';
    const r = await handscan(['replay', '--redis', server.url, '--stream', stream, '--data', FIXTURE_PACKETS]);
    expect(r.code, r.stderr).toBe(0);
    const s = scorer('a', ['--redis', server.url, '--stream', stream, '--group', 'g']);
    expect((await s.waitFor(event('ready'))).cluster).toBe(true);
    await until('9 entries scored', () => drained(c, stream, 'g', 9));
    expect(Number(await c.call('HLEN', `${stream}:scores:latest`))).toBe(9);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code, s.stderr()).toBe(0);

    const apart = await handscan(['serve', '--weights', D6_M7, '--redis', server.url, '--stream', stream, '--group', 'g', '--out-stream', 'scores']);
    expect(apart.code).toBe(2);
    expect(errorLines(apart)).toHaveLength(1);
    expect(errorLines(apart)[0]).toMatch(/in a Redis Cluster the streams must share a hash tag.*'scores' and '\{ztf\}:alerts' do not/);
  });

  it("cutout records (three FITS stamps and a candid) score as their packets do; a corrupt stamp is dead-lettered", async () => {
    const server = await redisServer();
    const c = server.client();
    const name = readdirSync(FIXTURE_PACKETS).find((n) => n.endsWith('.avro'))!;
    const [packet] = readAvroContainer(readFileSync(join(FIXTURE_PACKETS, name)), name).records as Record<string, { stampData: Buffer }>[];
    const candid = String((packet as unknown as { candid: bigint | number }).candid);
    const stamps = ['science', 'template', 'difference'].flatMap((f) => [f, packet[`cutout${f[0].toUpperCase()}${f.slice(1)}`].stampData]);
    await c.call('XADD', 'alerts', '*', 'candid', candid, 'objectId', 'ZTF-record', ...stamps);
    await c.call('XADD', 'alerts', '*', 'candid', 'broken', ...stamps.map((v, i) => (i === 1 ? Buffer.from('not FITS') : v)));
    await c.call('XADD', 'alerts', '*', 'packet', readFileSync(join(FIXTURE_PACKETS, name)));
    const s = scorer('a', ['--redis', server.url, '--stream', 'alerts', '--group', 'g']);
    await until('3 entries handled', () => drained(c, 'alerts', 'g', 3));
    const results = ((await c.call('XRANGE', 'alerts:scores', '-', '+')) as [string, string[]][]).map(([, f]) => Object.fromEntries(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i], f[2 * i + 1]])));
    expect(results.map((r) => [r.candid, r.objectId])).toEqual([
      [candid, 'ZTF-record'],
      [candid, (packet as unknown as { objectId: string }).objectId],
    ]);
    expect(results[0].p_real).toBe(results[1].p_real);
    const [[, dead]] = (await c.call('XRANGE', 'alerts:dead', '-', '+')) as [string, string[]][];
    const letter = Object.fromEntries(Array.from({ length: dead.length / 2 }, (_, i) => [dead[2 * i], dead[2 * i + 1]]));
    expect(letter.alert).toBe('broken');
    expect(letter.error).toMatch(/candid broken: science/);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code, s.stderr()).toBe(0);
  });
});
