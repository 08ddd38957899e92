// Graph models through the commands: a residual network of one image input
// (no chain, so no Sequential) exported to ONNX is scored by `predict` as
// ONNX Runtime scores it, fine-tuned by `train --init-weights`, saved as a
// Keras functional model_config in best.h5 and exported again; a graph of
// two inputs keeps its architecture through an HDF5 checkpoint, and the
// commands, which feed one input, refuse it in one line.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { exportOnnxGraph } from '../src/io/onnx-export.ts';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { Model } from '../src/nn/model.ts';
import type { GraphSpec } from '../src/nn/spec.ts';
import { loadCheckpoint, modelFromCheckpoint, saveCheckpoint } from '../src/train/checkpoint.ts';
import { errorLines, handscan } from './support/cli.ts';
import { twoInputGraph } from './support/onnx-graphs.ts';
import { randomTensor, rng, TEST_SEED } from './support/random.ts';

const root = mkdtempSync(join(tmpdir(), 'handscan-graph-commands-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** What ONNX Runtime must reproduce Handscan's probabilities to (the ONNX issue's bar). */
const ORT_TOLERANCE = 1e-5;
const SIZE = 12;

/** Two convolutions whose outputs are added (a residual block), pooled, one sigmoid unit. */
const RESIDUAL: GraphSpec = {
  inputs: [{ name: 'image', shape: [SIZE, SIZE, 3] }],
  nodes: [
    { layer: { type: 'conv2d', name: 'stem', filters: 4, kernelSize: [3, 3], strides: [1, 1], padding: 'same', useBias: true, activation: 'relu' }, inputs: ['image'] },
    { layer: { type: 'conv2d', name: 'branch', filters: 4, kernelSize: [3, 3], strides: [1, 1], padding: 'same', useBias: true, activation: 'linear' }, inputs: ['stem'] },
    { layer: { type: 'add', name: 'residual' }, inputs: ['stem', 'branch'] },
    { layer: { type: 'maxpool2d', name: 'pool', poolSize: [2, 2], strides: [2, 2], padding: 'valid' }, inputs: ['residual'] },
    { layer: { type: 'flatten', name: 'flat' }, inputs: ['pool'] },
    { layer: { type: 'dense', name: 'p_real', units: 1, useBias: true, activation: 'sigmoid' }, inputs: ['flat'] },
  ],
};

/** A cutout folder of real/ and not-real/ PNGs; returns each cutout's network input (scale255) by its id. */
function cutoutFolder(count: number, random: () => number): { dir: string; inputs: Map<string, Float32Array> } {
  const dir = join(root, 'cutouts');
  const inputs = new Map<string, Float32Array>();
  for (let i = 0; i < count; i++) {
    const cls = i % 2 === 0 ? 'real' : 'not-real';
    mkdirSync(join(dir, cls), { recursive: true });
    const png = new PNG({ width: SIZE, height: SIZE });
    const rgb = new Float32Array(SIZE * SIZE * 3);
    // Real cutouts carry a bright centre, so that there is something to learn.
    for (let p = 0; p < SIZE * SIZE; p++) {
      const [y, x] = [Math.floor(p / SIZE), p % SIZE];
      const centre = cls === 'real' && Math.abs(y - SIZE / 2) < 3 && Math.abs(x - SIZE / 2) < 3;
      for (let c = 0; c < 4; c++) png.data[p * 4 + c] = c === 3 ? 255 : centre ? 200 + Math.floor(random() * 55) : Math.floor(random() * 120);
      for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.fround(png.data[p * 4 + c] / 255);
    }
    const name = `${String(i).padStart(3, '0')}.png`;
    writeFileSync(join(dir, cls, name), PNG.sync.write(png, { colorType: 2, inputColorType: 6 }));
    inputs.set(`${cls}/${name}`, rgb);
  }
  return { dir, inputs };
}

/** predict's CSV as id → p_real. */
function scores(csv: string): Map<string, number> {
  const [header, ...rows] = readFileSync(csv, 'utf8').trim().split('\n');
  expect(header.split(',').slice(0, 2)).toEqual(['id', 'p_real']);
  return new Map(rows.map((r) => [r.split(',')[0], Number(r.split(',')[1])]));
}

/** ONNX Runtime's p_real for each id's network input. */
async function runtimeScores(onnx: string, inputs: Map<string, Float32Array>): Promise<Map<string, number>> {
  const session = await InferenceSession.create(onnx);
  const ids = [...inputs.keys()];
  const x = new Float32Array(ids.length * SIZE * SIZE * 3);
  ids.forEach((id, i) => x.set(inputs.get(id)!, i * SIZE * SIZE * 3));
  const out = await session.run({ [session.inputNames[0]]: new Tensor('float32', x, [ids.length, SIZE, SIZE, 3]) });
  await session.release();
  const p = out[session.outputNames[0]].data as Float32Array;
  return new Map(ids.map((id, i) => [id, p[i]]));
}

function maxDifference(a: Map<string, number>, b: Map<string, number>): number {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  return Math.max(...[...a].map(([id, v]) => Math.abs(v - b.get(id)!)));
}

async function ok(args: string[]): Promise<string> {
  const r = await handscan(args);
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

describe('a residual graph of one image input through the commands', () => {
  const random = rng(TEST_SEED + 31);
  const { dir: data, inputs } = cutoutFolder(64, random);
  const onnx = join(root, 'residual.onnx');

  it('predict scores its ONNX file as ONNX Runtime does; train --init-weights fine-tunes it into a functional best.h5 that exports and scores alike', async () => {
    const model = Model.fromGraph(RESIDUAL, cpuBackend, TEST_SEED);
    writeFileSync(onnx, exportOnnxGraph(RESIDUAL, await model.getWeights(), { layout: 'nhwc', opset: 13, preprocess: 'scale255', classes: ['p_real'] }));
    await ok(['predict', '--weights', onnx, '--data', data, '--out', join(root, 'before.csv')]);
    const before = scores(join(root, 'before.csv'));
    expect(maxDifference(before, await runtimeScores(onnx, inputs))).toBeLessThan(ORT_TOLERANCE);

    const run = join(root, 'finetuned');
    const out = await ok(['train', '--init-weights', onnx, '--data', data, '--epochs', '2', '--samples-per-epoch', '32', '--batch-size', '16', '--lr', '0.003', '--out', run]);
    expect(out).toMatch(/model {9}.*residual\.onnx: its architecture and weights, fine-tuned/);
    expect(out).toMatch(/preprocess {4}scale255/);
    const best = await loadCheckpoint(join(run, 'best.h5'));
    expect(best.spec).toBeNull();
    expect(best.graph).toEqual(RESIDUAL);
    expect(best.preprocess).toBe('scale255');

    await ok(['predict', '--weights', join(run, 'best.h5'), '--data', data, '--out', join(root, 'after.csv')]);
    const after = scores(join(root, 'after.csv'));
    // It trained: the scores moved from the starting weights'.
    expect(maxDifference(after, before)).toBeGreaterThan(1e-3);
    const exported = join(root, 'finetuned.onnx');
    await ok(['export', '--weights', join(run, 'best.h5'), '--out', exported]);
    expect(maxDifference(after, await runtimeScores(exported, inputs))).toBeLessThan(ORT_TOLERANCE);
  });

  it('train --init-weights --labels FILE.jsonl fine-tunes on the scanned candidates only, with a split of their own', async () => {
    // 40 of the 64 cutouts scanned, 4 of them unsure, an earlier call on one overruled by a later one; the scan calls every cutout the opposite of its folder.
    const ids = [...inputs.keys()].slice(0, 40);
    const line = (id: string, label: string, seq: number) => JSON.stringify({ id, label, scheme: 'binary', time: new Date(0).toISOString(), score: null, client: 'test', seq });
    const lines = ids.map((id, i) => line(id, i < 4 ? 'unsure' : id.startsWith('real/') ? 'bogus' : 'real', i));
    lines.splice(10, 0, line(ids[20], 'unsure', 100));
    const labels = join(root, 'scan.labels.jsonl');
    writeFileSync(labels, `${lines.join('\n')}\n`);
    const run = join(root, 'scanned');
    const out = await ok(['train', '--init-weights', onnx, '--labels', labels, '--data', data, '--epochs', '1', '--samples-per-epoch', '16', '--batch-size', '16', '--out', run]);
    expect(out).toMatch(/labels {8}binary \(scanned: .*scan\.labels\.jsonl\)/);
    // The 36 sure ones, flipped: 18 real (from not-real/) and 18 not real.
    expect(out).toMatch(/data {10}.* as labelled in .*scan\.labels\.jsonl: 36 cutouts/);
    const split = JSON.parse(readFileSync(join(run, 'split.json'), 'utf8'));
    expect(split.samples).toBe(36);
    const report = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8'));
    expect(report.config.scanLabels).toBe(labels);
  });

  it('--init-weights with --model is a usage error, and a checkpoint that does not fit the data is one line', async () => {
    const both = await handscan(['train', '--init-weights', onnx, '--model', 'initial', '--data', data, '--dry-run']);
    expect(both.code).toBe(2);
    expect(errorLines(both)).toEqual(['handscan: train: --init-weights gives the architecture with the weights; drop --model']);
    const wrong = await handscan(['train', '--init-weights', 'test/fixtures/braai/d6_m7.h5', '--data', data, '--dry-run']);
    expect(wrong.code).toBe(1);
    expect(errorLines(wrong)).toHaveLength(1);
    expect(errorLines(wrong)[0]).toMatch(/d6_m7\.h5: the network takes 63×63×3 inputs, but .*cutouts gives 12×12×3/);
  });
});

describe('a graph of two inputs', () => {
  it('keeps its architecture and predictions through an HDF5 checkpoint (a Keras functional model_config)', async () => {
    const random = rng(TEST_SEED + 32);
    const graph: GraphSpec = {
      inputs: [
        { name: 'image', shape: [6, 6, 2] },
        { name: 'meta', shape: [3] },
      ],
      nodes: [
        { layer: { type: 'conv2d', name: 'conv', filters: 3, kernelSize: [3, 3], strides: [1, 1], padding: 'valid', useBias: true, activation: 'relu' }, inputs: ['image'] },
        { layer: { type: 'flatten', name: 'flat' }, inputs: ['conv'] },
        { layer: { type: 'concat', name: 'joined' }, inputs: ['flat', 'meta'] },
        { layer: { type: 'batchnorm', name: 'bn', momentum: 0.9, epsilon: 1e-3, center: true, scale: true }, inputs: ['joined'] },
        { layer: { type: 'dense', name: 'out', units: 3, useBias: true, activation: 'softmax' }, inputs: ['bn'] },
      ],
    };
    const model = Model.fromGraph(graph, cpuBackend, TEST_SEED);
    model.setWeights((await model.getWeights()).map((l) => ({ ...l, weights: l.weights.map((w) => ({ ...w, values: w.values.map(() => (w.name === 'moving_variance' ? 0.5 + random() : random() - 0.5)) })) })));
    const path = join(root, 'two-inputs.h5');
    await saveCheckpoint(path, model, { preprocess: 'none' });
    const ckpt = await loadCheckpoint(path);
    expect(ckpt.graph).toEqual(graph);
    const reloaded = modelFromCheckpoint(path, ckpt, cpuBackend, () => {
      throw new Error('the file has its architecture');
    });
    const x = { image: randomTensor([2, 6, 6, 2], random), meta: randomTensor([2, 3], random) };
    expect(Array.from(reloaded.predict(x).data)).toEqual(Array.from(model.predict(x).data));
  });

  it('predict, which feeds one input, refuses it in one line naming the inputs', async () => {
    const path = join(root, 'two-inputs.onnx');
    writeFileSync(path, twoInputGraph(rng(TEST_SEED + 33)));
    const r = await handscan(['predict', '--weights', path, '--data', join(root, 'cutouts'), '--out', join(root, 'two.csv')]);
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([`handscan: ${path}: the network takes 2 inputs ('triplet' 8×8×3, 'metadata' 4); --data gives it one, the cutouts`]);
  });
});
