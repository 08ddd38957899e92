// Explanations (src/train/explain.ts): gradient saliency against central
// finite differences of the score on the float64 CPU reference, occlusion
// against scores of occluded cutouts, a patch over pixels the network never
// reads, and the GPU against the CPU; and the PNGs `handscan explain` writes.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { valuesPerSample, type Dataset } from '../src/data/dataset.ts';
import { loadDataset } from '../src/data/load.ts';
import type { Tensor } from '../src/kernels/backend.ts';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import { BatchNorm } from '../src/nn/layers.ts';
import type { Model } from '../src/nn/model.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { conv2d, dense, maxPool2d, type ModelSpec } from '../src/nn/spec.ts';
import { defaultOcclusion, occlusion, saliency } from '../src/train/explain.ts';
import { errorLines, handscan } from './support/cli.ts';
import { numericGradient } from './support/gradcheck.ts';
import { expectClose } from './support/compare.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { randomDataset } from './support/random-dataset.ts';
import { rng, TEST_SEED } from './support/random.ts';
import { writeTinyCheckpoint } from './support/tiny-checkpoint.ts';
import { FINITE_DIFFERENCES, GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();

/** Smooth layers only (tanh, average pooling), so that every finite difference is valid; batch normalisation and dropout as at inference. */
const smooth = (head: 'softmax' | 'sigmoid'): ModelSpec => ({
  inputShape: [5, 5, 2],
  layers: [
    conv2d(3, 3, { padding: 'same', activation: 'tanh' }),
    { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3, center: true, scale: true },
    { type: 'avgpool2d', poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
    { type: 'flatten' },
    dense(4, 'tanh'),
    { type: 'dropout', rate: 0.5 },
    head === 'softmax' ? dense(3, 'softmax') : dense(1, 'sigmoid'),
  ],
});

/** The paper's kind of layers (ReLU, max pooling), for the GPU against the CPU. */
const PAPER_LIKE: ModelSpec = {
  inputShape: [9, 9, 3],
  layers: [conv2d(4, 3, { padding: 'same', activation: 'relu' }), maxPool2d(2, 'same'), conv2d(4, 3, { padding: 'same', activation: 'relu' }), maxPool2d(2, 'same'), { type: 'flatten' }, dense(6, 'relu'), { type: 'dropout', rate: 0.5 }, dense(2, 'softmax')],
};

/** Batch normalisation with moving statistics of its own, so that the inference path shows. */
function model(s: ModelSpec, random: () => number): Model<CpuTensor> {
  const m = Sequential.build(s, cpuBackend, TEST_SEED);
  for (const l of m.layers) {
    if (l instanceof BatchNorm) for (const { name, value } of l.state) cpuBackend.write(value, Array.from({ length: value.shape[0] }, () => (name === 'moving_mean' ? random() - 0.5 : 0.5 + random())));
  }
  return m;
}

async function onGpu(m: Model<CpuTensor>, s: ModelSpec): Promise<Model<Tensor>> {
  const g = Sequential.build(s, backendOf(gpu()), TEST_SEED) as Model<Tensor>;
  g.setWeights(await m.getWeights());
  return g;
}

/** GPU bytes held by live tensors, once released ones are recycled: what a method leaks shows here. */
function bytesInUse(): number {
  gpu().submit();
  return gpu().pool.numBytesInUse;
}

/** Sample i of a dataset as a float64 tensor of one image, to perturb. */
function sample(data: Dataset, i: number): CpuTensor {
  const values = valuesPerSample(data.shape);
  return CpuTensor.from(data.images.subarray(i * values, (i + 1) * values), [1, ...data.shape]);
}

describe('gradient saliency', () => {
  for (const head of ['softmax', 'sigmoid'] as const) {
    it(`${head} head: on the CPU, the gradient of the score equals central finite differences over every input pixel`, async () => {
      const random = rng(TEST_SEED);
      const m = model(smooth(head), random);
      const data = randomDataset(3, [5, 5, 2], random);
      const values = valuesPerSample(data.shape);
      // Batches of 2: the samples' gradients come from separate backwards as well as one shared one.
      const s = await saliency(m, data, { batchSize: 2 });
      for (let i = 0; i < 3; i++) {
        const x = sample(data, i);
        const c = s.classes[i];
        const p = m.predict(x).data;
        if (head === 'softmax') expect(c).toBe(p.indexOf(Math.max(...p)));
        expect(s.scores[i]).toBe(Math.fround(p[c]));
        const numeric = numericGradient(() => m.predict(x).data[c], x.data, Array.from({ length: values }, (_, v) => v));
        expectClose(s.gradients.subarray(i * values, (i + 1) * values), [...numeric.values()], FINITE_DIFFERENCES, `sample ${i}: saliency against finite differences`);
      }
      // The display map is each pixel's largest |gradient| over its two channels.
      for (let q = 0; q < 3 * 25; q++) expect(s.maps[q]).toBe(Math.max(Math.abs(s.gradients[2 * q]), Math.abs(s.gradients[2 * q + 1])));
    });
  }

  it('a chosen class is the score for every sample', async () => {
    const random = rng(TEST_SEED);
    const m = model(smooth('softmax'), random);
    const data = randomDataset(2, [5, 5, 2], random);
    const s = await saliency(m, data, { classIndex: 2, indices: Uint32Array.of(1) });
    expect(Array.from(s.classes)).toEqual([2]);
    const x = sample(data, 1);
    const numeric = numericGradient(() => m.predict(x).data[2], x.data, Array.from({ length: 50 }, (_, v) => v));
    expectClose(s.gradients, [...numeric.values()], FINITE_DIFFERENCES, 'class 2: saliency against finite differences');
    await expect(saliency(m, data, { classIndex: 3 })).rejects.toThrow(/class 3 is not one of the model's 0-2/);
  });

  it('on the GPU the same as on the CPU, within 1e-4, holding no GPU memory after', async () => {
    const random = rng(TEST_SEED);
    for (const s of [PAPER_LIKE, smooth('sigmoid')]) {
      const m = model(s, random);
      const data = randomDataset(4, s.inputShape, random);
      const net = await onGpu(m, s);
      const held = bytesInUse();
      const [cpu, g] = [await saliency(m, data), await saliency(net, data, { batchSize: 3 })];
      expect(Array.from(g.classes)).toEqual(Array.from(cpu.classes));
      expectClose(g.gradients, cpu.gradients, GPU_VS_CPU, `${s.inputShape}: saliency, GPU against CPU`);
      expect(bytesInUse(), 'GPU bytes in use after saliency').toBe(held);
    }
  });
});

describe('occlusion', () => {
  /** A 3×3 'valid' convolution at stride 3 over an 11×11 cutout reads rows and columns 0-8 only: 9 and 10 never count. */
  const IGNORES_EDGE: ModelSpec = { inputShape: [11, 11, 1], layers: [conv2d(2, 3, { strides: [3, 3], activation: 'tanh' }), { type: 'flatten' }, dense(2, 'softmax')] };

  it('the defaults: a 9-pixel patch every 3 pixels for 69×69 cutouts', () => {
    expect(defaultOcclusion([69, 69, 3])).toEqual({ patch: 9, stride: 3 });
    expect(defaultOcclusion([63, 63, 3])).toEqual({ patch: 8, stride: 3 });
  });

  it('a patch over pixels the network never reads changes nothing; a pixel covered by one patch shows that patch\'s drop in score', async () => {
    const random = rng(TEST_SEED);
    const m = model(IGNORES_EDGE, random);
    const data = randomDataset(2, [11, 11, 1], random);
    // Patches of 2 every 2 pixels start at 0, 2, 4, 6, 8 and, flush with the edge, 9.
    const o = await occlusion(m, data, { patch: 2, stride: 2, batchSize: 7 });
    expect([o.patch, o.stride]).toEqual([2, 2]);
    for (let i = 0; i < 2; i++) {
      const map = o.maps.subarray(i * 121, (i + 1) * 121);
      for (let k = 0; k < 11; k++) {
        // Row 10 and column 10 lie under the patches at 9 only, which cover rows or columns 9-10, never read.
        expect(map[10 * 11 + k], `sample ${i}, row 10, column ${k}`).toBe(0);
        expect(map[k * 11 + 10], `sample ${i}, row ${k}, column 10`).toBe(0);
      }
      // Every pixel the network reads has a patch that moves the score: the zeros above could fail.
      for (let r = 0; r < 9; r++) for (let c = 0; c < 9; c++) expect(Math.abs(map[r * 11 + c]), `sample ${i} (${r}, ${c})`).toBeGreaterThan(0);
      // Pixel (0, 0) lies under the patch at (0, 0) alone.
      const x = sample(data, i);
      const score = m.predict(x).data[o.classes[i]];
      expect(o.scores[i]).toBe(Math.fround(score));
      for (const q of [0, 1, 11, 12]) x.data[q] = 0;
      const occluded = m.predict(x).data[o.classes[i]];
      expect(Math.abs(map[0] - (Math.fround(score) - Math.fround(occluded)))).toBeLessThan(1e-7);
    }
  });

  it('on the GPU the same as on the CPU, within 1e-4, holding no GPU memory after', async () => {
    const random = rng(TEST_SEED);
    for (const s of [PAPER_LIKE, smooth('sigmoid')]) {
      const m = model(s, random);
      const data = randomDataset(2, s.inputShape, random);
      const net = await onGpu(m, s);
      const held = bytesInUse();
      const [cpu, g] = [await occlusion(m, data, { patch: 3, stride: 2 }), await occlusion(net, data, { patch: 3, stride: 2, batchSize: 10 })];
      expect(Array.from(g.classes)).toEqual(Array.from(cpu.classes));
      expectClose(g.maps, cpu.maps, GPU_VS_CPU, `${s.inputShape}: occlusion maps, GPU against CPU`);
      expect(bytesInUse(), 'GPU bytes in use after occlusion').toBe(held);
    }
  });
});

describe('handscan explain', () => {
  let dir = '';
  const paths = { data: '', weights: '' };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'handscan-explain-'));
    Object.assign(paths, { data: join(dir, 'four.hdf5'), weights: join(dir, 'tiny.h5') });
    const r = await handscan(['simulate', '--n', '4', '--seed', '3', '--out', paths.data]);
    expect(r.code, r.stderr).toBe(0);
    await writeTinyCheckpoint(paths.weights, true);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes a PNG per cutout and method, the cutout beside its map, each 4× larger, and an index of them', async () => {
    const out = join(dir, 'maps');
    // A patch of 23 every 23 pixels: 9 positions, so that the test stays quick.
    const r = await handscan(['explain', '--weights', paths.weights, '--data', paths.data, '--out', out, '--ids', '2,0', '--patch', '23', '--stride', '23']);
    expect(r.code, r.stderr).toBe(0);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
    expect([index.patch, index.stride]).toEqual([23, 23]);
    const explained = index.explained as { file: string; id: string; method: string; class: string; score: number; mapMax: number }[];
    expect(explained.map((e) => `${e.method} ${e.id}`)).toEqual(['saliency 2', 'saliency 0', 'occlusion 2', 'occlusion 0']);
    const data = await loadDataset(paths.data, { preprocess: 'scale255' });
    for (const e of explained) {
      expect(existsSync(join(out, e.file)), e.file).toBe(true);
      const png = PNG.sync.read(readFileSync(join(out, e.file)));
      expect([png.width, png.height], e.file).toEqual([2 * 69 * 4 + 4, 69 * 4]);
      // The left half is the uint8 cutout as stored, each pixel 4×4: its pixel (1, 2) at (4..7, 8..11).
      const stored = (data.images as Uint8Array).subarray((Number(e.id) * 69 * 69 + 69 + 2) * 3, (Number(e.id) * 69 * 69 + 69 + 2) * 3 + 3);
      expect(Array.from(png.data.subarray((7 * png.width + 11) * 4, (7 * png.width + 11) * 4 + 3))).toEqual(Array.from(stored));
      expect(e.mapMax).toBeGreaterThan(0);
      expect(['not_real', 'real']).toContain(e.class);
    }
  });

  it('bad options: one line and a non-zero exit', async () => {
    const base = ['explain', '--weights', paths.weights, '--data', paths.data, '--out', join(dir, 'never')];
    const cases: [string[], number, RegExp][] = [
      [[...base, '--method', 'gradcam'], 2, /^handscan: explain: --method must be saliency, occlusion or both, got 'gradcam'$/],
      [[...base, '--patch', '70'], 2, /^handscan: explain: --patch 70 is larger than the 69×69×3 cutouts$/],
      [[...base, '--ids', '1,nope'], 1, /^handscan: explain: --ids: .*four\.hdf5 has no cutout 'nope'$/],
    ];
    for (const [args, code, message] of cases) {
      const r = await handscan(args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(errorLines(r)).toHaveLength(1);
      expect(errorLines(r)[0]).toMatch(message);
    }
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});
