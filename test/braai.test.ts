// ZTF's production real/bogus model, braai, run by Handscan on ZTF's own
// public alert packets (test/fixtures/README.md), as ZTF sends them and as
// Fink re-serialises them: d6_m7 must reproduce the `drb` ZTF shipped in each
// packet (each without NaN pixels: the README says why), its later d6_m9 must
// load from a weights-only file and its architecture JSON, and d6_m7 must
// train and reload.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferenceSource, type Dataset } from '../src/data/dataset.ts';
import { loadDataset } from '../src/data/load.ts';
import { avroType, readAvroContainer } from '../src/data/avro-container.ts';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { braaiModel } from '../src/nn/models.ts';
import { makeOptimizer } from '../src/nn/optimizers.ts';
import { loadCheckpoint, modelFromCheckpoint, saveCheckpoint } from '../src/train/checkpoint.ts';
import { predictAll, trainEpoch } from '../src/train/fit.ts';
import { resolveModel } from '../src/train/model-choice.ts';
import { batchSource } from '../src/train/source.ts';
import { container } from './support/avro-file.ts';
import { errorLines, handscan } from './support/cli.ts';
import { expectClose } from './support/compare.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();
const dir = await mkdtemp(join(tmpdir(), 'handscan-braai-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const D6_M7 = 'test/fixtures/braai/d6_m7.h5';
const D6_M9 = 'test/fixtures/braai/braai_d6_m9.weights.h5';
const D6_M9_JSON = 'test/fixtures/braai/braai_d6_m9.architecture.json';
const PACKETS = 'test/fixtures/ztf';
/** The fixture packet whose science and difference cutouts have NaN (off-chip) pixels. */
const WITH_NAN = '2475433850415015002';
/** What ZTF's drb must be reproduced to (the bar). */
const DRB_TOLERANCE = 1e-5;

const sim = join(dir, 'sim.hdf5');
beforeAll(async () => {
  expect((await handscan(['simulate', '--n', '120', '--seed', '3', '--out', sim])).code).toBe(0);
});

const alerts = () => loadDataset(PACKETS, { preprocess: 'braai-rows' });
const drbOf = (d: Dataset) => d.candidates!.map((c) => c.fields.drb as number);

describe('braai d6_m7 on ZTF packets', () => {
  it("reproduces each NaN-free packet's drb within 1e-5 on the GPU and the CPU reference", async () => {
    const data = await alerts();
    expect(data.shape).toEqual([63, 63, 3]);
    expect(data.ids).toHaveLength(9);
    expect(data.candidates!.every((c) => c.fields.drbversion === 'd6_m7')).toBe(true);
    const ckpt = await loadCheckpoint(D6_M7);
    const fallback = () => braaiModel();
    for (const backend of [backendOf(gpu()), cpuBackend] as const) {
      const net = modelFromCheckpoint(D6_M7, ckpt, backend as typeof cpuBackend, fallback);
      expect(net.classes).toBe(1);
      const p = await predictAll(net, inferenceSource(data, 1));
      const drb = drbOf(data);
      data.ids.forEach((id, i) => {
        if (id === WITH_NAN) return;
        expect(Math.abs(p[i] - drb[i]), `${backend.name}: packet ${id}: Handscan ${p[i]}, ZTF drb ${drb[i]}`).toBeLessThan(DRB_TOLERANCE);
      });
    }
  });

  it('predict --preprocess braai-rows writes p_real beside drb, equal within 1e-5', async () => {
    const out = join(dir, 'drb.csv');
    const r = await handscan(['predict', '--weights', D6_M7, '--data', PACKETS, '--preprocess', 'braai-rows', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = readFileSync(out, 'utf8').trim().split('\n');
    expect(header).toBe('id,p_real,label,objectId,drb,drbversion');
    expect(rows).toHaveLength(9);
    for (const row of rows) {
      const [id, p, label, objectId, drb, version] = row.split(',');
      expect(objectId).toMatch(/^ZTF\d\d[a-z]{7}$/);
      expect(version).toBe('d6_m7');
      expect(label).toBe(Number(p) >= 0.5 ? 'real' : 'not_real');
      if (id !== WITH_NAN) expect(Math.abs(Number(p) - Number(drb)), `packet ${id}`).toBeLessThan(DRB_TOLERANCE);
    }
  });
});

/**
 * The fixture packets as Fink re-serialises ZTF alerts (written by Spark):
 * a top-level record named topLevelRecord, every field nullable with the
 * type first, cutouts as records of their own, and Fink's added science
 * fields. Alert readers go by field names, so these read as ZTF packets.
 */
async function finkFile(path: string): Promise<void> {
  const records: Record<string, unknown>[] = [];
  let candidateFields: { name: string; type: unknown }[] = [];
  for (const name of readdirSync(PACKETS).filter((n) => n.endsWith('.avro')).sort()) {
    const { type, records: packets } = readAvroContainer(readFileSync(join(PACKETS, name)), name);
    const candidate = (type.schema() as { fields: { name: string; type: { fields?: { name: string; type: unknown }[] } }[] }).fields.find((f) => f.name === 'candidate')!;
    candidateFields = candidate.type.fields!.map((f) => ({ name: f.name, type: Array.isArray(f.type) ? f.type : [f.type, 'null'] }));
    for (const p of packets as Record<string, unknown>[]) {
      const cutout = (c: { fileName: string; stampData: Buffer }) => ({ fileName: c.fileName, stampData: c.stampData });
      records.push({
        objectId: p.objectId,
        candid: p.candid,
        candidate: p.candidate,
        cutoutScience: cutout(p.cutoutScience as never),
        cutoutTemplate: cutout(p.cutoutTemplate as never),
        cutoutDifference: cutout(p.cutoutDifference as never),
        cdsxmatch: 'Unknown',
        rf_snia_vs_nonia: 0.25,
        roid: 0,
      });
    }
  }
  const stamp = (name: string) => [{ type: 'record', name, fields: [{ name: 'fileName', type: ['string', 'null'] }, { name: 'stampData', type: ['bytes', 'null'] }] }, 'null'];
  const fink = avroType({
    type: 'record',
    name: 'topLevelRecord',
    fields: [
      { name: 'objectId', type: ['string', 'null'] },
      { name: 'candid', type: ['long', 'null'] },
      { name: 'candidate', type: [{ type: 'record', name: 'candidate', fields: candidateFields }, 'null'] },
      { name: 'cutoutScience', type: stamp('cutoutScience') },
      { name: 'cutoutTemplate', type: stamp('cutoutTemplate') },
      { name: 'cutoutDifference', type: stamp('cutoutDifference') },
      { name: 'cdsxmatch', type: ['string', 'null'] },
      { name: 'rf_snia_vs_nonia', type: ['double', 'null'] },
      { name: 'roid', type: ['int', 'null'] },
    ],
  });
  writeFileSync(path, await container(fink, records, 'deflate'));
}

describe('braai d6_m7 on Fink-style records', () => {
  it('read as ZTF packets: the same candids and 63×63 cutouts, and drb reproduced within 1e-5', async () => {
    const path = join(dir, 'fink.avro');
    await finkFile(path);
    const [fink, ztf] = [await loadDataset(path, { preprocess: 'braai-rows' }), await alerts()];
    expect(fink.ids).toEqual(ztf.ids);
    expect(fink.shape).toEqual([63, 63, 3]);
    expect(Array.from(fink.images)).toEqual(Array.from(ztf.images));
    const p = await predictAll(modelFromCheckpoint(D6_M7, await loadCheckpoint(D6_M7), backendOf(gpu()), () => braaiModel()), inferenceSource(fink, 1));
    drbOf(fink).forEach((drb, i) => {
      if (fink.ids[i] !== WITH_NAN) expect(Math.abs(p[i] - drb), `packet ${fink.ids[i]}`).toBeLessThan(DRB_TOLERANCE);
    });
  });
});

describe('braai d6_m9 from a weights-only file and its architecture JSON', () => {
  it('loads and predicts the same on both backends; without --model the file has no architecture', async () => {
    const data = await alerts();
    const ckpt = await loadCheckpoint(D6_M9);
    expect(ckpt.spec).toBeNull();
    const architecture = resolveModel('test', D6_M9_JSON);
    const fallback = (classes: number) => architecture.spec(classes, data.shape);
    const cpu = await predictAll(modelFromCheckpoint(D6_M9, ckpt, cpuBackend, fallback), inferenceSource(data, 1));
    const gpuScores = await predictAll(modelFromCheckpoint(D6_M9, ckpt, backendOf(gpu()), fallback), inferenceSource(data, 1));
    expectClose(gpuScores, cpu, GPU_VS_CPU, 'd6_m9 scores');
    expect(cpu.every((p) => p > 0 && p < 1)).toBe(true);

    const out = join(dir, 'd6_m9.csv');
    const r = await handscan(['predict', '--weights', D6_M9, '--model', D6_M9_JSON, '--data', PACKETS, '--preprocess', 'braai', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const bare = await handscan(['predict', '--weights', D6_M9, '--data', PACKETS, '--preprocess', 'braai', '--out', join(dir, 'bare.csv')]);
    expect(bare.code).toBe(1);
    expect(errorLines(bare)).toHaveLength(1);
  });
});

describe('braai d6_m7 trains and reloads', () => {
  it('three Adam steps on the GPU change the weights; the saved file reloads to the same scores', async () => {
    const data = await alerts();
    const B = backendOf(gpu());
    const ckpt = await loadCheckpoint(D6_M7);
    const net = modelFromCheckpoint(D6_M7, ckpt, B, () => braaiModel());
    const before = await predictAll(net, inferenceSource(data, 1));
    // The packets carry no labels: call the ones ZTF scored real, real.
    const labelled: Dataset = { ...data, scheme: 'binary', labels: Uint8Array.from(drbOf(data), (d) => Number(d >= 0.5)) };
    const members = Int32Array.from(data.ids, (_, i) => i);
    const optimizer = makeOptimizer('adam', B, net.parameters(), 1e-3);
    const order = Uint32Array.from(members);
    for (let epoch = 0; epoch < 3; epoch++) await trainEpoch(net, optimizer, batchSource(labelled, 'binary', members, 1), order, 9);
    const after = await predictAll(net, inferenceSource(data, 1));
    expect(after.some((p, i) => Math.abs(p - before[i]) > 1e-4)).toBe(true);
    const saved = join(dir, 'd6_m7-trained.h5');
    await saveCheckpoint(saved, net, { preprocess: 'braai-rows' });
    const reloaded = await loadCheckpoint(saved);
    expect(reloaded.preprocess).toBe('braai-rows');
    expect(reloaded.spec?.layers.map((l) => l.name ?? l.type)).toEqual(braaiModel().layers.map((l) => l.name));
    const again = await predictAll(modelFromCheckpoint(saved, reloaded, B, () => braaiModel()), inferenceSource(data, 1));
    expect(Array.from(again)).toEqual(Array.from(after));
  });
});

describe('train --model braai on the simulated survey', () => {
  it("trains braai's architecture at the data's 69×69×3, and records the preprocessing in the checkpoints and the report", async () => {
    const out = join(dir, 'braai-run');
    const r = await handscan(['train', '--model', 'braai', '--data', sim, '--epochs', '1', '--samples-per-epoch', '32', '--batch-size', '16', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/fc_out \(Dense\) +\(None, 1\)/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report).toMatchObject({ model: 'braai', preprocess: 'scale255', labels: 'binary', paper: null });
    for (const file of ['best.h5', 'last.h5']) {
      const ckpt = await loadCheckpoint(join(out, file));
      expect(ckpt.preprocess).toBe('scale255');
      expect(ckpt.spec).toEqual(braaiModel([69, 69, 3]));
    }
  });
});

describe('bad input around braai', () => {
  it('the options: braai with non-binary labels, a display stretch as preprocessing; exit 2', async () => {
    for (const [args, message] of [
      [['train', '--model', 'braai', '--labels', 'visual', '--data', sim], /braai has one sigmoid output \(p_real\), so it trains on --labels binary, but --labels visual has 3 classes/],
      [['predict', '--weights', D6_M7, '--data', PACKETS, '--preprocess', 'zscale', '--out', join(dir, 'z.csv')], /--preprocess must be one of scale255, braai, braai-rows, none/],
    ] as const) {
      const r = await handscan([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(errorLines(r)).toHaveLength(1);
      expect(errorLines(r)[0]).toMatch(message);
    }
  });

  it('a network of another input size, an unsupported layer and a corrupt Avro file: one line each, exit 1', async () => {
    const cases: [string[], RegExp][] = [
      [['predict', '--weights', D6_M7, '--data', sim, '--out', join(dir, 'a.csv')], /takes 63×63×3 inputs, but .* gives 69×69×3 after preprocessing scale255/],
      [['train', '--model', 'test/fixtures/braai/d6_m7.architecture.json', '--data', sim, '--out', join(dir, 'never')], /d6_m7\.architecture\.json: the network takes 63×63×3 inputs, but the data are 69×69×3/],
    ];
    const json = JSON.parse(readFileSync(D6_M9_JSON, 'utf8'));
    json.config.layers.splice(2, 0, { class_name: 'SeparableConv2D', config: { name: 'sep1', filters: 4, kernel_size: [3, 3] } });
    const odd = join(dir, 'odd.architecture.json');
    writeFileSync(odd, JSON.stringify(json));
    cases.push([['predict', '--weights', D6_M9, '--model', odd, '--data', PACKETS, '--preprocess', 'braai', '--out', join(dir, 'b.csv')], /layer 3 'sep1' \(SeparableConv2D\): is not supported/]);
    const packet = readdirSync(PACKETS).find((n) => n.endsWith('.avro'))!;
    const corrupt = join(dir, 'corrupt.avro');
    writeFileSync(corrupt, readFileSync(join(PACKETS, packet)).subarray(0, 300));
    cases.push([['predict', '--weights', D6_M7, '--data', corrupt, '--preprocess', 'braai-rows', '--out', join(dir, 'c.csv')], /corrupt\.avro/]);
    for (const [args, message] of cases) {
      const r = await handscan(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(errorLines(r), args.join(' ')).toHaveLength(1);
      expect(errorLines(r)[0]).toMatch(message);
    }
  });
});
