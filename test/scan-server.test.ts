// `handscan scan` as a scanner's browser meets it: real server processes and
// real HTTP requests. Labels are on disk before they are answered "saved",
// survive SIGKILL and a torn last line, and are read back as the latest per
// id; the token, path traversal, oversized and malformed requests are
// refused; the inputs and scores are predict's own.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillImages } from '../src/data/dataset.ts';
import { loadDataset } from '../src/data/load.ts';
import { readScanLabels, scannedLabels, ScanLabelsFile } from '../src/data/scan-labels.ts';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { saveCheckpoint } from '../src/train/checkpoint.ts';
import { errorLines, handscan } from './support/cli.ts';
import { startScan, useScanProcesses, type ScanProcess } from './support/scan-server.ts';
import { until } from './support/stream-processes.ts';
import { tinySpec } from './support/tiny-checkpoint.ts';

const dir = await mkdtemp(join(tmpdir(), 'handscan-scan-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const data = join(dir, 'small.hdf5');
const weights = join(dir, 'tiny.h5');
const N = 120;
const TEMPERATURE = 1.5;
const scan = useScanProcesses();

beforeAll(async () => {
  const r = await handscan(['simulate', '--n', String(N), '--seed', '5', '--out', data]);
  expect(r.code, r.stderr).toBe(0);
  // A small network, with a temperature so that the scores are calibrated ones.
  const model = Sequential.build(tinySpec(false), cpuBackend, 3);
  await saveCheckpoint(weights, model, { preprocess: 'scale255', temperature: TEMPERATURE });
});

/** A label as the page sends it. */
const label = (id: string, value: string, client = 'tab-a', seq = 0, extra: Record<string, unknown> = {}) => ({ id, label: value, scheme: 'binary', score: 0.25, client, seq, ...extra });

async function post(s: ScanProcess, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function getJson(s: ScanProcess, path: string) {
  const res = await fetch(`${s.base}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A request sent as written (fetch would resolve '..' and turn '\' into '/' first). */
function raw(s: ScanProcess, method: string, path: string, body?: { declared?: number; bytes: number }): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(s.base);
  return new Promise((resolve, reject) => {
    const headers = body?.declared === undefined ? {} : { 'content-length': String(body.declared) };
    const req = request({ host: hostname, port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        resolve({ status: res.statusCode!, text });
        req.destroy();
      });
    });
    // Writing on after the answer came fails once the server closes: the answer is what counts.
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', (e) => answered || reject(e));
    if (!body) return void req.end();
    // Streamed 1 MiB at a time, never held whole.
    const chunk = Buffer.alloc(2 ** 20, 0x20);
    let sent = 0;
    const pump = () => {
      while (!answered && sent < body.bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

const fileLines = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');

describe('the labels file', () => {
  it('reads back the latest label per id, skips a torn last line and cuts it off on the next append; a corrupt line elsewhere names its line', async () => {
    const path = join(dir, 'unit', 'labels.jsonl');
    const file = ScanLabelsFile.open(path);
    const at = '2026-01-01T00:00:00.000Z';
    const base = { scheme: 'binary' as const, time: at, score: null, client: 'c' };
    expect((await file.append({ ...base, id: '1', label: 'real', seq: 0 })).written).toBe(true);
    expect((await file.append({ ...base, id: '2', label: 'bogus', seq: 1 })).written).toBe(true);
    expect((await file.append({ ...base, id: '1', label: 'unsure', seq: 2 })).written).toBe(true);
    // The same (client, seq) again: nothing new on file.
    expect((await file.append({ ...base, id: '1', label: 'unsure', seq: 2 })).written).toBe(false);
    expect(fileLines(path)).toHaveLength(3);
    expect(file.latest().map((l) => [l.id, l.label])).toEqual([
      ['1', 'unsure'],
      ['2', 'bogus'],
    ]);

    appendFileSync(path, '{"id":"3","label":"re');
    const torn = readScanLabels(path);
    expect(torn.torn).toBe(true);
    expect([...torn.latest.keys()]).toEqual(['1', '2']);
    const reopened = ScanLabelsFile.open(path);
    await reopened.append({ ...base, id: '3', label: 'real', seq: 3 });
    expect(readFileSync(path, 'utf8')).not.toContain('"re\n');
    expect([...readScanLabels(path).latest.keys()]).toEqual(['1', '2', '3']);

    // A whole last line without its newline (edited by hand) is a label, and the next one goes on a line of its own.
    writeFileSync(path, `${readFileSync(path, 'utf8')}${JSON.stringify({ ...base, id: '4', label: 'bogus', seq: 4 })}`);
    await ScanLabelsFile.open(path).append({ ...base, id: '5', label: 'real', seq: 5 });
    expect(readScanLabels(path).latest.get('4')?.label).toBe('bogus');
    expect(readScanLabels(path).latest.get('5')?.line).toBe(6);

    const corrupt = join(dir, 'unit', 'corrupt.jsonl');
    writeFileSync(corrupt, `${JSON.stringify({ ...base, id: '1', label: 'real', seq: 0 })}\n{"id": "2", "label": "maybe"}\n${JSON.stringify({ ...base, id: '3', label: 'real', seq: 1 })}\n`);
    expect(() => readScanLabels(corrupt)).toThrow(/corrupt\.jsonl: line 2 is not a label \(scheme must be/);
  });

  it('gives training the labelled candidates and their classes, leaving unsure out; unknown ids and other schemes are one-line errors', async () => {
    const dataset = await loadDataset(data);
    const path = join(dir, 'unit', 'train.jsonl');
    const line = (id: string, value: string, seq: number, scheme = 'binary') => JSON.stringify({ id, label: value, scheme, time: '2026-01-01T00:00:00Z', score: null, client: 'c', seq });
    writeFileSync(path, [line('7', 'real', 0), line('3', 'bogus', 1), line('9', 'unsure', 2), line('7', 'bogus', 3)].join('\n') + '\n');
    const got = scannedLabels(dataset, path);
    expect(got.scheme).toBe('binary');
    expect([...got.indices]).toEqual([7, 3]);
    expect([...got.labels]).toEqual([0, 0]);
    expect(got.unsure).toBe(1);
    expect(() => scannedLabels(dataset, path, 'visual')).toThrow(/train\.jsonl: line 4 is a binary label, but training with visual labels needs visual ones/);

    writeFileSync(path, [line('7', 'real', 0), line('no-such-id', 'real', 1)].join('\n') + '\n');
    expect(() => scannedLabels(dataset, path)).toThrow(/train\.jsonl: line 2 labels id 'no-such-id', which is not among the 120 candidates/);
    writeFileSync(path, [line('7', 'real', 0), line('8', 'Real', 1, 'visual')].join('\n') + '\n');
    expect(() => scannedLabels(dataset, path)).toThrow(/line 2 is a visual label, but line 1 is a binary one/);
  });
});

describe('handscan scan', () => {
  it('writes each label to the file before answering saved; GET gives the latest per id; a retried (client, seq) writes once; two clients are both kept', async () => {
    const labels = join(dir, 'a.jsonl');
    const s = await scan(['--data', data, '--weights', weights, '--labels', labels, '--port', '0'], dir);
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const first = await post(s, '/api/labels', label('4', 'real', 'tab-a', 0));
    expect(first).toMatchObject({ status: 200, body: { saved: true, id: '4', label: 'real' } });
    // On disk when answered: the line is in the file already.
    expect(fileLines(labels).map((l) => JSON.parse(l))).toEqual([{ ...label('4', 'real', 'tab-a', 0), time: first.body.time }]);
    expect(Date.parse(first.body.time as string)).not.toBeNaN();

    const retried = await post(s, '/api/labels', label('4', 'real', 'tab-a', 0));
    expect(retried).toEqual(first);
    expect(fileLines(labels)).toHaveLength(1);
    // The same (client, seq) for another label is a conflict, not a silent overwrite.
    expect((await post(s, '/api/labels', label('5', 'bogus', 'tab-a', 0))).status).toBe(409);

    // Two tabs: their labels for two ids both stay, and on one id the later wins.
    await Promise.all([post(s, '/api/labels', label('5', 'bogus', 'tab-b', 0)), post(s, '/api/labels', label('6', 'unsure', 'tab-a', 1))]);
    await post(s, '/api/labels', label('4', 'bogus', 'tab-b', 1));
    const { body } = await getJson(s, '/api/labels');
    const got = body.labels as Record<string, { label: string; client: string }>;
    expect(Object.fromEntries(Object.entries(got).map(([id, l]) => [id, [l.label, l.client]]))).toEqual({ '4': ['bogus', 'tab-b'], '5': ['bogus', 'tab-b'], '6': ['unsure', 'tab-a'] });
    expect(fileLines(labels)).toHaveLength(4);

    // SIGTERM: a clean stop.
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });

  it('loses no label answered saved when SIGKILLed mid-stream; a torn last line is skipped and the next label appends cleanly', async () => {
    const labels = join(dir, 'killed.jsonl');
    const args = ['--data', data, '--weights', weights, '--labels', labels, '--port', '0'];
    const s = await scan(args, dir);
    const saved = new Map<string, string>();
    // Labels sent eight at a time; the server is killed after the twelfth answer, with others in flight.
    let next = 0;
    const sender = async () => {
      while (next < 60) {
        const i = next++;
        const value = i % 3 === 0 ? 'bogus' : 'real';
        try {
          const r = await post(s, '/api/labels', label(String(i), value, 'tab-k', i));
          if (r.status === 200) saved.set(String(i), value);
          if (saved.size === 12) s.proc.kill('SIGKILL');
        } catch {
          return; // the server is gone
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    expect((await s.exited).signal).toBe('SIGKILL');
    expect(saved.size).toBeGreaterThanOrEqual(12);

    appendFileSync(labels, '{"id":"100","label":"real","sch');
    const again = await scan(args, dir);
    const got = (await getJson(again, '/api/labels')).body.labels as Record<string, { label: string }>;
    for (const [id, value] of saved) expect(got[id]?.label, `label ${id}`).toBe(value);
    expect(got['100']).toBeUndefined();
    expect((await post(again, '/api/labels', label('101', 'bogus', 'tab-k', 1001))).status).toBe(200);
    const read = readScanLabels(labels);
    expect(read.torn).toBe(false);
    expect(read.latest.get('101')?.label).toBe('bogus');
    expect(fileLines(labels).every((l) => JSON.parse(l).id !== '100')).toBe(true);
  });

  it('with --host, every request needs the token; --host without --token is a usage error', async () => {
    const bad = await handscan(['scan', '--data', data, '--weights', weights, '--host', '0.0.0.0']);
    expect(bad.code).toBe(2);
    expect(errorLines(bad)).toHaveLength(1);
    expect(errorLines(bad)[0]).toMatch(/^handscan: scan: --host .* needs --token/);

    const token = 'a-token-for-the-test';
    const s = await scan(['--data', data, '--weights', weights, '--labels', join(dir, 'token.jsonl'), '--port', '0', '--host', '127.0.0.1', '--token', token], dir);
    expect(s.url).toBe(`${s.base}/?token=${token}`);
    for (const headers of [{}, { authorization: 'Bearer wrong-token-for-the-test' }, { authorization: token }] as Record<string, string>[]) {
      const res = await fetch(`${s.base}/api/session`, { headers });
      expect(res.status).toBe(401);
      expect(Object.keys(await res.json())).toEqual(['error']);
    }
    expect((await fetch(`${s.base}/api/labels?token=wrong`)).status).toBe(401);
    expect((await post(s, '/api/labels', label('1', 'real'))).status).toBe(401);
    expect((await fetch(`${s.base}/api/session`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${s.base}/api/session?token=${token}`)).status).toBe(200);
    const auth = { authorization: `Bearer ${token}` };
    const early = await post(s, '/api/retrain', {}, auth);
    expect(early.status).toBe(409);
    expect(early.body.error).toMatch(/nothing is labelled yet/);
    expect((await post(s, '/api/labels', label('1', 'real'), auth)).status).toBe(200);
  });

  describe('one server', () => {
    const labels = join(dir, 'main.jsonl');
    let s: ScanProcess;
    beforeAll(async () => {
      s = await startScan(['--data', data, '--weights', weights, '--labels', labels, '--port', '0'], dir);
    });
    afterAll(() => void s?.proc.kill('SIGKILL'));

    it('refuses path traversal, a 100 MB body and malformed labels with one-line errors, writes nothing, and keeps answering', async () => {
      await post(s, '/api/labels', label('1', 'real', 'tab-m', 0));
      const before = readFileSync(labels, 'utf8');
      for (const path of ['/../package.json', '/%2e%2e/package.json', '/%2E%2e%2fpackage.json', '/..%5cpackage.json', '/web\\..\\package.json', '/api/../../package.json', '/scan.js%00.html']) {
        const r = await raw(s, 'GET', path);
        expect([400, 404], path).toContain(r.status);
        expect(r.text, path).not.toContain('"name": "handscan"');
        expect(Object.keys(JSON.parse(r.text)), path).toEqual(['error']);
      }
      expect((await raw(s, 'GET', '/package.json')).status).toBe(404);

      // 100 MB declared, and 100 MB sent without a length: 413 either way, long before the end.
      for (const body of [{ declared: 100 * 2 ** 20, bytes: 100 * 2 ** 20 }, { bytes: 100 * 2 ** 20 }]) {
        const r = await raw(s, 'POST', '/api/labels', body);
        expect(r.status).toBe(413);
        expect(JSON.parse(r.text).error).toMatch(/larger than 65536 bytes/);
      }

      const cases: [unknown, number, RegExp][] = [
        ['{"id": "1", "label": ', 400, /not JSON/],
        [[1, 2], 400, /JSON object/],
        [label('1', 'maybe'), 400, /label must be one of real, bogus, unsure/],
        [label('1', 'Real'), 400, /label must be one of/],
        [label('1', 'Real', 'tab-m', 1, { scheme: 'visual' }), 400, /scheme must be this session's, binary/],
        [label('1', 'real', 'tab-m', 1, { scheme: 'colours' }), 400, /scheme must be binary, visual or original/],
        [label('1', 'real', 'tab-m', 1, { score: 2 }), 400, /score must be null or a number in \[0, 1\]/],
        [label('1', 'real', 'tab-m', 1, { score: '0.5' }), 400, /score must be/],
        [label('1', 'real', 'tab-m', -1), 400, /seq must be a non-negative integer/],
        [label('1', 'real', 'tab-m', 1.5), 400, /seq must be/],
        [label('1', 'real', ''), 400, /client must be/],
        [label('1', 'real', 'x'.repeat(65)), 400, /client must be/],
        [label('', 'real'), 400, /id must be a non-empty string/],
        [label('no-such-id', 'real', 'tab-m', 1), 404, /id "no-such-id" is not among the 120 candidates/],
      ];
      for (const [body, status, message] of cases) {
        const r = await post(s, '/api/labels', body);
        expect(r.status, JSON.stringify(body)).toBe(status);
        expect(r.body.error, JSON.stringify(body)).toMatch(message);
        expect(r.body.error as string).not.toContain('\n');
      }
      expect(readFileSync(labels, 'utf8')).toBe(before);

      for (const query of ['', 'from=0', 'from=-1&count=1', 'from=0&count=0', `from=${N - 1}&count=2`, 'from=x&count=1', 'from=0&count=1.5']) {
        const r = await getJson(s, `/api/inputs?${query}`);
        expect(r.status, query).toBe(400);
      }
      expect((await getJson(s, '/api/nothing-here')).status).toBe(404);
      expect((await getJson(s, '/api/session')).status).toBe(200);
    });

    it('serves predict\'s network inputs and probabilities, and the checkpoint', async () => {
      const session = (await getJson(s, '/api/session')).body;
      const dataset = await loadDataset(data);
      expect(session).toMatchObject({ count: N, shape: [69, 69, 3], layout: 'composite', scheme: 'binary', choices: ['real', 'bogus', 'unsure'], threshold: 0.5 });
      expect(session.ids).toEqual(dataset.ids);
      expect((session.truth as string[]).filter((t) => t === 'real').length).toBe([...dataset.labels].filter((c) => c >= 3).length);
      expect(session.model).toMatchObject({ version: 1, preprocess: 'scale255', classes: 2, columns: ['p_not_real', 'p_real'], temperature: TEMPERATURE });

      const values = 69 * 69 * 3;
      for (const [from, count] of [[0, 3], [57, 63], [N - 1, 1]]) {
        const res = await fetch(`${s.base}/api/inputs?from=${from}&count=${count}`);
        expect(res.headers.get('content-type')).toBe('application/octet-stream');
        const got = new Float32Array(await res.arrayBuffer());
        const expected = new Float32Array(count * values);
        fillImages(dataset, Array.from({ length: count }, (_, i) => from + i), expected);
        expect(got.length).toBe(expected.length);
        expect(Buffer.from(got.buffer).equals(Buffer.from(expected.buffer)), `inputs ${from}+${count}`).toBe(true);
      }

      const weightsRes = await fetch(`${s.base}/api/weights`);
      expect(weightsRes.headers.get('x-model-version')).toBe('1');
      expect(Buffer.from(await weightsRes.arrayBuffer()).equals(readFileSync(weights))).toBe(true);

      const csv = join(dir, 'predict.csv');
      const r = await handscan(['predict', '--weights', weights, '--data', data, '--out', csv]);
      expect(r.code, r.stderr).toBe(0);
      const rows = fileLines(csv).slice(1).map((l) => l.split(','));
      const scores = (await getJson(s, '/api/scores')).body;
      expect(scores).toMatchObject({ version: 1 });
      expect(typeof scores.adapter).toBe('string');
      const probs = scores.probs as number[];
      expect(probs).toHaveLength(N * 2);
      rows.forEach(([id, notReal, real], i) => {
        expect(id).toBe(dataset.ids[i]);
        expect(Math.abs(probs[2 * i] - Number(notReal)), `p_not_real of ${id}`).toBeLessThanOrEqual(1e-6);
        expect(Math.abs(probs[2 * i + 1] - Number(real)), `p_real of ${id}`).toBeLessThanOrEqual(1e-6);
      });
    });

    it('validates a retrain request, runs one at a time, and reports how it ended', async () => {
      // Enough labels of both kinds for a run with its own validation split.
      for (let i = 0; i < 24; i++) expect((await post(s, '/api/labels', label(String(30 + i), i % 2 ? 'real' : 'bogus', 'tab-r', i))).status).toBe(200);
      for (const body of [{ epochs: 0 }, { epochs: 2.5 }, { epochs: '3' }, [1]]) {
        const r = await post(s, '/api/retrain', body);
        expect(r.status, JSON.stringify(body)).toBe(400);
      }
      expect((await getJson(s, '/api/retrain')).body).toMatchObject({ state: 'idle', lines: [], version: 1 });
      const [a, b] = await Promise.all([post(s, '/api/retrain', { epochs: 1 }), post(s, '/api/retrain', { epochs: 1 })]);
      expect([a.status, b.status].sort()).toEqual([202, 409]);
      const started = a.status === 202 ? a.body : b.body;
      expect(started.run).toMatch(/^runs[\\/]scan-\d{8}T\d{9}Z$/);
      const state = async () => (await getJson(s, '/api/retrain')).body;
      await until('the retrain to end', async () => (await state()).state !== 'running', 300_000, async () => JSON.stringify(await state()));
      const end = await state();
      expect((end.lines as string[])[0]).toMatch(/^handscan train --init-weights .*tiny\.h5 --labels .*main\.jsonl --data .*small\.hdf5 --out runs[\\/]scan-\S+ --epochs 1$/);
      expect((end.lines as string[]).length).toBeLessThanOrEqual(50);
      expect(end, JSON.stringify(end)).toMatchObject({ state: 'done', version: 2 });
      // The server now hands out the new run's checkpoint and its scores.
      const best = join(dir, end.run as string, 'best.h5');
      const res = await fetch(`${s.base}/api/weights`);
      expect(res.headers.get('x-model-version')).toBe('2');
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(best))).toBe(true);
      expect(((await getJson(s, '/api/session')).body.model as { name: string }).name).toBe(join(end.run as string, 'best.h5'));
      expect((await getJson(s, '/api/scores')).body).toMatchObject({ version: 2 });
    });
  });
});
