// Uncertainty (src/train/uncertainty.ts): dihedral test-time augmentation
// against predictions made one transformed image at a time, and MC-dropout's
// passes, seeds, BALD and batch normalisation, on the CPU reference and on
// the GPU; and the columns `predict --tta` and `--mc-dropout` write.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourcePixels } from '../src/data/augment.ts';
import { fillImages, valuesPerSample, type Dataset } from '../src/data/dataset.ts';
import { loadDataset } from '../src/data/load.ts';
import type { Backend, Tensor } from '../src/kernels/backend.ts';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import { InputError } from '../src/errors.ts';
import { BatchNorm } from '../src/nn/layers.ts';
import type { Model } from '../src/nn/model.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { conv2d, dense, maxPool2d, type ModelSpec } from '../src/nn/spec.ts';
import { loadCheckpoint, modelFromCheckpoint } from '../src/train/checkpoint.ts';
import { copyStatistics, dihedralCopies, dihedralTransforms, mcDropoutCopies } from '../src/train/uncertainty.ts';
import { errorLines, handscan } from './support/cli.ts';
import { expectClose, relativeError } from './support/compare.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { randomDataset } from './support/random-dataset.ts';
import { rng, TEST_SEED } from './support/random.ts';
import { tinySpec, writeTinyCheckpoint } from './support/tiny-checkpoint.ts';
import { GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();

type Head = 'softmax' | 'sigmoid';
const HEADS: Head[] = ['softmax', 'sigmoid'];

/** Conv, batch normalisation, pooling, dropout before the head: every layer the two methods treat specially. */
function spec(head: Head, rate = 0.5, inputShape: [number, number, number] = [6, 6, 2]): ModelSpec {
  return {
    inputShape,
    layers: [
      conv2d(3, 3, { padding: 'same', activation: 'relu' }),
      { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3, center: true, scale: true },
      maxPool2d(2),
      { type: 'flatten' },
      dense(8, 'relu'),
      { type: 'dropout', rate },
      head === 'softmax' ? dense(3, 'softmax') : dense(1, 'sigmoid'),
    ],
  };
}

/** A model whose batch normalisation has moving statistics of its own (not 0 and 1), so that using them shows. */
function model<T extends Tensor>(s: ModelSpec, backend: Backend<T>, random: () => number): Model<T> {
  const m = Sequential.build(s, backend, TEST_SEED);
  for (const l of m.layers) {
    if (!(l instanceof BatchNorm)) continue;
    for (const { name, value } of l.state) backend.write(value, Array.from({ length: value.shape[0] }, () => (name === 'moving_mean' ? random() - 0.5 : 0.5 + random())));
  }
  return m;
}

/** The same weights on the GPU, and the same dropout layers' seeds (they come from the model's). */
async function onGpu(m: Model<CpuTensor>, s: ModelSpec): Promise<Model<Tensor>> {
  const g = Sequential.build(s, backendOf(gpu()), TEST_SEED) as Model<Tensor>;
  g.setWeights(await m.getWeights());
  return g;
}

/** Sample i under transform k, moved here pixel by pixel by the transform's table. */
function transformed(data: Dataset, i: number, k: number): CpuTensor {
  const [h, w, c] = data.shape;
  const table = sourcePixels(k, h, w);
  const image = new Float32Array(valuesPerSample(data.shape));
  fillImages(data, [i], image);
  const out = new CpuTensor([1, h, w, c]);
  for (let p = 0; p < h * w; p++) for (let ch = 0; ch < c; ch++) out.data[p * c + ch] = image[table[p] * c + ch];
  return out;
}

/** GPU bytes held by live tensors, once released ones are recycled: what a method leaks shows here. */
function bytesInUse(): number {
  gpu().submit();
  return gpu().pool.numBytesInUse;
}

const predictOne = (m: Model<CpuTensor>, x: CpuTensor) => Array.from(m.predict(x).data);

describe('dihedral test-time augmentation', () => {
  for (const head of HEADS) {
    it(`${head} head: the mean over the 8 transforms and its spread equal predictions made one transformed image at a time; copy 0 is Model.predict`, async () => {
      const random = rng(TEST_SEED);
      const m = model(spec(head), cpuBackend, random);
      const data = randomDataset(5, [6, 6, 2], random);
      // Batches of 3 images: a sample's transforms fall into different batches.
      const copies = await dihedralCopies(m, data, { batchSize: 3 });
      expect(copies.transforms).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      const stats = copyStatistics(copies);
      const k = m.classes;
      let spread = 0;
      for (let i = 0; i < 5; i++) {
        const each = copies.transforms.map((t) => predictOne(m, transformed(data, i, t)));
        const mean = Array.from({ length: k }, (_, c) => each.reduce((s, p) => s + p[c], 0) / 8);
        const top = k === 1 ? 0 : mean.indexOf(Math.max(...mean));
        const std = Math.sqrt(each.reduce((s, p) => s + (p[top] - mean[top]) ** 2, 0) / 8);
        mean.forEach((v, c) => expect(Math.abs(stats.mean[i * k + c] - v), `sample ${i} class ${c} (seed ${TEST_SEED})`).toBeLessThan(1e-6));
        expect(Math.abs(stats.std[i] - std), `sample ${i} (seed ${TEST_SEED})`).toBeLessThan(1e-6);
        const original = predictOne(m, transformed(data, i, 0));
        expect(Array.from(copies.probs.subarray(i * 8 * k, (i * 8 + 1) * k))).toEqual(original.map(Math.fround));
        spread = Math.max(spread, std);
      }
      // The transforms do change the predictions, so the comparisons above could fail.
      expect(spread).toBeGreaterThan(1e-3);
      // Chosen samples come back in the order asked for.
      const picked = await dihedralCopies(m, data, { indices: Uint32Array.of(3, 1) });
      expect(Array.from(picked.probs)).toEqual([...copies.probs.subarray(3 * 8 * k, 4 * 8 * k), ...copies.probs.subarray(1 * 8 * k, 2 * 8 * k)]);
    });
  }

  it('a cutout that is not square takes the four transforms that keep its shape', async () => {
    const random = rng(TEST_SEED);
    expect(dihedralTransforms([4, 6, 1])).toEqual([0, 2, 4, 6]);
    const m = model(spec('softmax', 0.5, [4, 6, 1]), cpuBackend, random);
    const copies = await dihedralCopies(m, randomDataset(2, [4, 6, 1], random));
    expect(copies.copies).toBe(4);
    expect(copies.probs).toHaveLength(2 * 4 * 3);
  });

  it('on the GPU the same as on the CPU, within 1e-4, holding no GPU memory after', async () => {
    const random = rng(TEST_SEED);
    const s = spec('softmax');
    const m = model(s, cpuBackend, random);
    const data = randomDataset(4, [6, 6, 2], random);
    const net = await onGpu(m, s);
    const held = bytesInUse();
    const [cpu, g] = [await dihedralCopies(m, data), await dihedralCopies(net, data, { batchSize: 5 })];
    expectClose(g.probs, cpu.probs, GPU_VS_CPU, 'TTA probabilities, GPU against CPU');
    expect(bytesInUse(), 'GPU bytes in use after TTA').toBe(held);
  });
});

describe('MC-dropout', () => {
  for (const head of HEADS) {
    it(`${head} head: passes differ, a seed repeats them exactly and another draws others; BALD ≥ 0; batch normalisation keeps its moving statistics`, async () => {
      const random = rng(TEST_SEED);
      const m = model(spec(head), cpuBackend, random);
      const data = randomDataset(5, [6, 6, 2], random);
      const before = await m.getWeights();
      const a = await mcDropoutCopies(m, data, 6, 11, { batchSize: 2 });
      const again = await mcDropoutCopies(m, data, 6, 11, { batchSize: 2 });
      const other = await mcDropoutCopies(m, data, 6, 12, { batchSize: 2 });
      expect(a.copies).toBe(6);
      expect(again.probs).toEqual(a.probs);
      expect(relativeError(other.probs, a.probs), `seed ${TEST_SEED}`).toBeGreaterThan(1e-3);
      const k = m.classes;
      for (let i = 0; i < 5; i++) {
        const passes = Array.from({ length: 6 }, (_, p) => a.probs.subarray((i * 6 + p) * k, (i * 6 + p + 1) * k).join());
        expect(new Set(passes).size, `sample ${i}: distinct passes (seed ${TEST_SEED})`).toBeGreaterThan(1);
      }
      const stats = copyStatistics(a);
      for (const v of stats.bald) expect(v).toBeGreaterThanOrEqual(0);
      expect(Math.max(...stats.bald)).toBeGreaterThan(1e-4);
      expect(Math.min(...stats.std)).toBeGreaterThan(0);
      expect(await m.getWeights()).toEqual(before);
    });

    it(`${head} head: at a dropout rate of 0 every pass is the inference pass: spread 0, BALD 0, the mean Model.predict's`, async () => {
      const random = rng(TEST_SEED);
      const m = model(spec(head, 0), cpuBackend, random);
      const data = randomDataset(3, [6, 6, 2], random);
      const stats = copyStatistics(await mcDropoutCopies(m, data, 4, 5));
      expect(Array.from(stats.std)).toEqual([0, 0, 0]);
      expect(Array.from(stats.bald)).toEqual([0, 0, 0]);
      const predicted = [0, 1, 2].flatMap((i) => predictOne(m, transformed(data, i, 0)));
      expect(Array.from(stats.mean)).toEqual(predicted.map(Math.fround));
    });
  }

  it('a network without dropout, or fewer than 2 passes, is refused in one line', async () => {
    const random = rng(TEST_SEED);
    const s = spec('softmax');
    const plain = Sequential.build({ ...s, layers: s.layers.filter((l) => l.type !== 'dropout') }, cpuBackend, TEST_SEED);
    const data = randomDataset(2, [6, 6, 2], random);
    await expect(mcDropoutCopies(plain, data, 4, 1)).rejects.toThrow(InputError);
    await expect(mcDropoutCopies(plain, data, 4, 1)).rejects.toThrow(/^MC-dropout needs a network with a dropout layer, and this one has none$/);
    await expect(mcDropoutCopies(Sequential.build(s, cpuBackend, 1), data, 1, 1)).rejects.toThrow(/at least 2/);
  });

  it('on the GPU the same masks and the same numbers as on the CPU, within 1e-4, holding no GPU memory after', async () => {
    const random = rng(TEST_SEED);
    for (const head of HEADS) {
      const s = spec(head);
      const m = model(s, cpuBackend, random);
      const data = randomDataset(4, [6, 6, 2], random);
      const net = await onGpu(m, s);
      const held = bytesInUse();
      const [cpu, g] = [await mcDropoutCopies(m, data, 5, 3, { batchSize: 3 }), await mcDropoutCopies(net, data, 5, 3, { batchSize: 3 })];
      expectClose(g.probs, cpu.probs, GPU_VS_CPU, `${head}: MC-dropout probabilities, GPU against CPU`);
      expect(bytesInUse(), 'GPU bytes in use after MC-dropout').toBe(held);
    }
  });
});

describe('predict --tta and --mc-dropout', () => {
  let dir = '';
  const paths = { data: '', dropout: '', plain: '' };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'handscan-uncertainty-'));
    Object.assign(paths, { data: join(dir, 'six.hdf5'), dropout: join(dir, 'dropout.h5'), plain: join(dir, 'plain.h5') });
    const r = await handscan(['simulate', '--n', '6', '--seed', '3', '--out', paths.data]);
    expect(r.code, r.stderr).toBe(0);
    await writeTinyCheckpoint(paths.dropout, true);
    await writeTinyCheckpoint(paths.plain, false);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('add their columns: tta_p_real is the mean over the 8 transformed cutouts, BALD is ≥ 0', async () => {
    const out = join(dir, 'scores.csv');
    const r = await handscan(['predict', '--weights', paths.dropout, '--data', paths.data, '--out', out, '--tta', '--mc-dropout', '4', '--seed', '9']);
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split(','));
    expect(header).toEqual(['id', 'p_not_real', 'p_real', 'label', 'tta_p_not_real', 'tta_p_real', 'tta_std', 'mc_p_not_real', 'mc_p_real', 'mc_std', 'bald']);
    expect(rows).toHaveLength(6);
    // The same network on the CPU, each transformed cutout scored on its own.
    const net = modelFromCheckpoint(paths.dropout, await loadCheckpoint(paths.dropout), cpuBackend, () => tinySpec(true));
    const data = await loadDataset(paths.data, { preprocess: 'scale255' });
    rows.forEach((row, i) => {
      const mean = [0, 1, 2, 3, 4, 5, 6, 7].reduce((s, k) => s + net.predict(transformed(data, i, k)).data[1], 0) / 8;
      expect(Math.abs(Number(row[5]) - mean), `cutout ${row[0]}`).toBeLessThan(1e-5);
      expect(Number(row[10])).toBeGreaterThanOrEqual(0);
    });
    expect(Math.max(...rows.map((row) => Number(row[9])))).toBeGreaterThan(0);
  });

  it('bad options and a network without dropout: one line and a non-zero exit', async () => {
    const out = join(dir, 'never.csv');
    const base = ['predict', '--data', paths.data, '--out', out];
    const cases: [string[], number, RegExp][] = [
      [[...base, '--weights', paths.dropout, '--mc-dropout', '0'], 2, /^handscan: predict: --mc-dropout must be a number of passes in 2\.\.1000, got '0'$/],
      [[...base, '--weights', paths.dropout, '--seed', '3'], 2, /^handscan: predict: --seed sets the MC-dropout masks: give it with --mc-dropout N$/],
      [[...base, '--weights', paths.plain, '--mc-dropout', '4'], 1, /^handscan: predict: --mc-dropout: .*plain\.h5 has no dropout layer, so every pass would give the same scores$/],
    ];
    for (const [args, code, message] of cases) {
      const r = await handscan(args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(errorLines(r)).toHaveLength(1);
      expect(errorLines(r)[0]).toMatch(message);
    }
  });
});
