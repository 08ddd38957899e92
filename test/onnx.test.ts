// ONNX out and in, against a real ONNX Runtime (onnxruntime-node, CPU):
// Handscan's exports of the paper's networks, braai's d6_m7 and a network of
// every general layer give Handscan's probabilities in both input layouts;
// export → import → export is the same file; graphs written as tf2onnx and
// PyTorch write them import and agree with ONNX Runtime, fine-tune, pass a
// gradient check and export again; bad files are one line and exit 1.
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { inferenceSource } from '../src/data/dataset.ts';
import { loadDataset } from '../src/data/load.ts';
import type { Backend, Tensor as EngineTensor } from '../src/kernels/backend.ts';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import { exportOnnx, exportOnnxGraph, type ExportOptions } from '../src/io/onnx-export.ts';
import { importOnnxGraph } from '../src/io/onnx-import.ts';
import { permute, TO_NCHW, type Layout } from '../src/io/onnx-layout.ts';
import { decodeModel } from '../src/io/onnx-proto.ts';
import { chainOf, Model } from '../src/nn/model.ts';
import { initialModel, tunedModel } from '../src/nn/models.ts';
import { makeOptimizer } from '../src/nn/optimizers.ts';
import { Sequential, type LayerWeights } from '../src/nn/sequential.ts';
import { conv2d, dense, type ModelSpec } from '../src/nn/spec.ts';
import { loadCheckpoint, modelFromCheckpoint } from '../src/train/checkpoint.ts';
import { predictAll, trainEpoch, type BatchSource } from '../src/train/fit.ts';
import { errorLines, handscan } from './support/cli.ts';
import { relativeError } from './support/compare.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { finiteDifferences } from './support/network.ts';
import { GraphWriter, pytorchGraph, tf2onnxGraph, twoInputGraph } from './support/onnx-graphs.ts';
import { rng, TEST_SEED } from './support/random.ts';
import { FD_STEP, FINITE_DIFFERENCES } from './support/tolerances.ts';

const gpu = useGpu();
const dir = await mkdtemp(join(tmpdir(), 'handscan-onnx-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** What ONNX Runtime must reproduce Handscan's probabilities to (the bar). */
const ORT_TOLERANCE = 1e-5;
const D6_M7 = 'test/fixtures/braai/d6_m7.h5';
const PACKETS = 'test/fixtures/ztf';
const LAYOUTS: Layout[] = ['nhwc', 'nchw'];

/** N×H×W×C images in [0, 1). */
function images(n: number, [h, w, c]: readonly number[], random: () => number): Float32Array {
  return Float32Array.from({ length: n * h * w * c }, () => random());
}

/** ONNX Runtime's output for N×H×W×C images, given in the model's layout. */
async function runtime(bytes: Uint8Array, x: Float32Array, n: number, [h, w, c]: readonly number[], layout: Layout): Promise<Float32Array> {
  const session = await InferenceSession.create(bytes);
  const [input] = session.inputNames;
  const data = layout === 'nhwc' ? x : permute(x, [n, h, w, c], TO_NCHW);
  const out = await session.run({ [input]: new Tensor('float32', data, layout === 'nhwc' ? [n, h, w, c] : [n, c, h, w]) });
  await session.release();
  return out[session.outputNames[0]].data as Float32Array;
}

async function handscanProbs<T extends EngineTensor>(model: Sequential<T>, x: Float32Array, n: number): Promise<Float32Array> {
  const B = model.backend;
  const probs = model.predict(B.fromArray(x, [n, ...model.spec.inputShape]));
  return Float32Array.from(await B.toArray(probs));
}

const maxDifference = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  return Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
};

const options = (layout: Layout, classes: string[], opset = 13): ExportOptions => ({ layout, opset, preprocess: 'scale255', classes });

/** Random weights in every tensor, batch normalisation's moving variance positive: statistics that are not the initial 0 and 1. */
function randomise(weights: LayerWeights[], random: () => number): LayerWeights[] {
  return weights.map((l) => ({ ...l, weights: l.weights.map((w) => ({ ...w, values: w.values.map(() => (w.name === 'moving_variance' ? 0.5 + random() : random() - 0.5)) })) }));
}

/**
 * Every general layer where ONNX and TF differ most: strides 2 with a
 * 'same' even kernel (the odd padding cell at the bottom and right), no
 * bias, batch normalisation on images and on features, 'same' average
 * pooling with border windows (count_include_pad 0), 'same' max pooling
 * with odd leftovers, a hidden softmax over channels, tanh, LeakyReLU,
 * dropout, a sigmoid head.
 */
const GENERAL: ModelSpec = {
  inputShape: [11, 10, 3],
  layers: [
    conv2d(4, 3, { activation: 'tanh' }),
    conv2d(5, 2, { padding: 'same', strides: [2, 2], useBias: false }),
    { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3, center: true, scale: true },
    { type: 'leakyrelu', alpha: 0.1 },
    { type: 'avgpool2d', poolSize: [3, 3], strides: [2, 2], padding: 'same' },
    conv2d(3, 1, { activation: 'softmax' }),
    { type: 'maxpool2d', poolSize: [2, 2], strides: [1, 1], padding: 'same' },
    { type: 'dropout', rate: 0.25 },
    { type: 'flatten' },
    { type: 'dense', units: 6, useBias: false, activation: 'relu' },
    { type: 'batchnorm', momentum: 0.99, epsilon: 1e-3, center: true, scale: false },
    dense(1, 'sigmoid'),
  ],
};

describe("ONNX Runtime runs Handscan's exports", () => {
  it("the paper's initial and tuned networks (random weights, 69×69×3), NHWC and NCHW, within 1e-5", async () => {
    const B = backendOf(gpu());
    const random = rng(TEST_SEED);
    for (const [name, spec] of [
      ['initial', initialModel(2)],
      ['tuned', tunedModel(2)],
    ] as const) {
      const model = Sequential.build(spec, B, TEST_SEED);
      const x = images(3, spec.inputShape, random);
      const expected = await handscanProbs(model, x, 3);
      for (const layout of LAYOUTS) {
        const bytes = exportOnnx(spec, await model.getWeights(), options(layout, ['p_not_real', 'p_real']));
        const got = await runtime(bytes, x, 3, spec.inputShape, layout);
        expect(maxDifference(got, expected), `${name} ${layout} (seed ${TEST_SEED})`).toBeLessThan(ORT_TOLERANCE);
      }
    }
  });

  it("braai's d6_m7 through `handscan export`: ZTF's packets score as in Handscan, the step and p_real in metadata_props; predict and evaluate take the .onnx", async () => {
    const data = await loadDataset(PACKETS, { preprocess: 'braai-rows' });
    const ckpt = await loadCheckpoint(D6_M7);
    const net = modelFromCheckpoint(D6_M7, ckpt, backendOf(gpu()), () => {
      throw new Error('d6_m7 has its model_config');
    });
    const expected = await predictAll(net, inferenceSource(data, 1));
    const n = data.ids.length;
    const x = new Float32Array(n * 63 * 63 * 3);
    inferenceSource(data, 1).fill(Uint32Array.from(data.ids, (_, i) => i), x);
    for (const layout of LAYOUTS) {
      const out = join(dir, `d6_m7.${layout}.onnx`);
      const r = await handscan(['export', '--weights', D6_M7, '--preprocess', 'braai-rows', '--layout', layout, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const bytes = readFileSync(out);
      const metadata = Object.fromEntries(decodeModel(bytes).metadataProps!.map((p) => [p.key, p.value]));
      expect(metadata).toEqual({ preprocess: 'braai-rows', classes: 'p_real', layout });
      expect(maxDifference(await runtime(bytes, x, n, [63, 63, 3], layout), expected), layout).toBeLessThan(ORT_TOLERANCE);
    }
    // The .onnx as --weights: its own step (braai-rows) and the h5's scores.
    const csv = join(dir, 'drb.csv');
    const r = await handscan(['predict', '--weights', join(dir, 'd6_m7.nchw.onnx'), '--data', PACKETS, '--out', csv]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/preprocessing braai-rows/);
    const scores = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((row) => Number(row.split(',')[1]));
    expect(maxDifference(scores, expected)).toBeLessThan(1e-6);

    const sim = join(dir, 'sim.hdf5');
    expect((await handscan(['simulate', '--n', '40', '--seed', '5', '--out', sim])).code).toBe(0);
    const initial = join(dir, 'initial.onnx');
    writeFileSync(initial, exportOnnx(initialModel(2), await Sequential.build(initialModel(2), cpuBackend, 1).getWeights(), options('nhwc', ['p_not_real', 'p_real'])));
    const evaluated = await handscan(['evaluate', '--weights', initial, '--data', sim]);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(evaluated.stdout).toMatch(/accuracy [\d.]+%/);
  });

  it('every general layer (strided even same conv, batch norm, same average and max pooling, softmax over channels, tanh): within 1e-5 at opsets 13 and 23', async () => {
    const random = rng(TEST_SEED + 1);
    const model = Sequential.build(GENERAL, cpuBackend, TEST_SEED);
    model.setWeights(randomise(await model.getWeights(), random));
    const x = images(4, GENERAL.inputShape, random);
    const expected = await handscanProbs(model, x, 4);
    for (const layout of LAYOUTS) {
      for (const opset of [13, 23]) {
        const got = await runtime(exportOnnx(GENERAL, await model.getWeights(), options(layout, ['p_real'], opset)), x, 4, GENERAL.inputShape, layout);
        expect(maxDifference(got, expected), `${layout}, opset ${opset} (seed ${TEST_SEED})`).toBeLessThan(ORT_TOLERANCE);
      }
    }
  });
});

describe('export → import → export', () => {
  it('gives the same bytes and the same predictions (the general network and the tuned one, both layouts)', async () => {
    const random = rng(TEST_SEED + 2);
    for (const [spec, classes] of [
      [GENERAL, ['p_real']],
      [tunedModel(3, [16, 16, 3]), ['p_artefact', 'p_dipole_saturated', 'p_real']],
    ] as const) {
      const original = Sequential.build(spec, cpuBackend, TEST_SEED);
      original.setWeights(randomise(await original.getWeights(), random));
      const x = images(2, spec.inputShape, random);
      for (const layout of LAYOUTS) {
        const first = exportOnnx(spec, await original.getWeights(), options(layout, [...classes]));
        const imported = importChain(first);
        expect(imported.preprocess).toBe('scale255');
        const rebuilt = Sequential.build(imported.spec, cpuBackend, 0);
        rebuilt.setWeights(imported.weights);
        const second = exportOnnx(rebuilt.spec, await rebuilt.getWeights(), options(layout, [...classes]));
        expect(Buffer.compare(Buffer.from(second), Buffer.from(first)), `${layout}: the files differ`).toBe(0);
        expect(Array.from(await handscanProbs(rebuilt, x, 2))).toEqual(Array.from(await handscanProbs(original, x, 2)));
      }
    }
  });
});

/** An ONNX file's graph as the chain it is. */
function importChain(bytes: Uint8Array) {
  const { graph, weights, preprocess } = importOnnxGraph(bytes);
  const spec = chainOf(graph);
  if (!spec) throw new Error('the graph is no chain');
  return { spec, weights, preprocess };
}

/** A model built from an ONNX file's bytes on `backend`. */
function imported<T extends EngineTensor>(bytes: Uint8Array, backend: Backend<T>): Sequential<T> {
  const { spec, weights } = importChain(bytes);
  const model = Sequential.build(spec, backend, 0);
  model.setWeights(weights);
  return model;
}

describe("graphs other tools write import and agree with ONNX Runtime within 1e-5", () => {
  it("tf2onnx's Keras conversion: N×H×W×C input, Transposes around each conv, pool and batch norm (folded, not run), biases as Add, Reshape", async () => {
    const random = rng(TEST_SEED + 3);
    const bytes = tf2onnxGraph(random);
    const model = imported(bytes, cpuBackend);
    expect(model.spec.inputShape).toEqual([12, 12, 3]);
    expect(model.spec.layers.map((l) => l.type)).toEqual(['conv2d', 'relu', 'batchnorm', 'conv2d', 'leakyrelu', 'maxpool2d', 'flatten', 'dense', 'relu', 'dense', 'activation']);
    const x = images(5, [12, 12, 3], random);
    expect(maxDifference(await handscanProbs(model, x, 5), await runtime(bytes, x, 5, [12, 12, 3], 'nhwc'))).toBeLessThan(ORT_TOLERANCE);
  });

  it("PyTorch's: N×C×H×W throughout, Flatten in (c, h, w) order into a Gemm with transB, or GlobalAveragePool", async () => {
    const random = rng(TEST_SEED + 4);
    for (const head of ['flatten', 'global-pool'] as const) {
      const bytes = pytorchGraph(random, head);
      const model = imported(bytes, cpuBackend);
      expect(model.spec.inputShape).toEqual([8, 8, 3]);
      const x = images(3, [8, 8, 3], random);
      expect(maxDifference(await handscanProbs(model, x, 3), await runtime(bytes, x, 3, [8, 8, 3], 'nchw')), head).toBeLessThan(ORT_TOLERANCE);
    }
  });
});

/** ONNX Runtime's output for named inputs, each given as [values, dims]. */
async function runtimeFeeds(bytes: Uint8Array, feeds: Record<string, [Float32Array, number[]]>): Promise<Float32Array> {
  const session = await InferenceSession.create(bytes);
  const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([name, [data, dims]]) => [name, new Tensor('float32', data, dims)])));
  await session.release();
  return out[session.outputNames[0]].data as Float32Array;
}

describe('an image-plus-metadata graph (BTSbot, ACAI)', () => {
  const n = 3;
  /** The graph as a Handscan model, and inputs for both: Handscan's images N×H×W×C, ONNX's N×C×H×W. */
  function twoInputs(random: () => number) {
    const bytes = twoInputGraph(random);
    const { graph, weights, preprocess } = importOnnxGraph(bytes);
    const model = Model.fromGraph(graph, cpuBackend, 0);
    model.setWeights(weights);
    const image = images(n, [8, 8, 3], random);
    const metadata = Float32Array.from({ length: n * 4 }, () => random() * 2 - 1);
    return { bytes, graph, preprocess, model, image, metadata };
  }
  const probs = async (model: Model<EngineTensor>, image: Float32Array, metadata: Float32Array) => {
    const B = model.backend;
    return Float32Array.from(await B.toArray(model.predict({ triplet: B.fromArray(image, [n, 8, 8, 3]), metadata: B.fromArray(metadata, [n, 4]) })));
  };

  it('imports as a graph model (two inputs, a shared pool output, Squeeze, Mul, Unsqueeze, a three-way Concat) that agrees with ONNX Runtime within 1e-5', async () => {
    const random = rng(TEST_SEED + 9);
    const { bytes, graph, model, image, metadata } = twoInputs(random);
    expect(graph.inputs).toEqual([
      { name: 'triplet', shape: [8, 8, 3] },
      { name: 'metadata', shape: [4] },
    ]);
    expect(graph.nodes.map((l) => [l.layer.type, l.inputs.length])).toEqual([
      ['conv2d', 1], ['relu', 1], ['maxpool2d', 1], ['flatten', 1], ['avgpool2d', 1], ['flatten', 1], ['dense', 1], ['relu', 1], ['reshape', 1], ['conv2d', 1], ['relu', 1], ['flatten', 1], ['concat', 3], ['dense', 1], ['relu', 1], ['dense', 1], ['activation', 1],
    ]);
    const expected = await runtimeFeeds(bytes, { triplet: [permute(image, [n, 8, 8, 3], TO_NCHW), [n, 3, 8, 8]], metadata: [metadata, [n, 4]] });
    expect(maxDifference(await probs(model, image, metadata), expected), `seed ${TEST_SEED}`).toBeLessThan(ORT_TOLERANCE);
  });

  it('exports to a file ONNX Runtime scores as Handscan does (both layouts), and export → import → export gives the same bytes', async () => {
    const random = rng(TEST_SEED + 10);
    const { graph, model, image, metadata } = twoInputs(random);
    const expected = await probs(model, image, metadata);
    for (const layout of LAYOUTS) {
      const first = exportOnnxGraph(graph, await model.getWeights(), options(layout, ['p_real']));
      const triplet: [Float32Array, number[]] = layout === 'nhwc' ? [image, [n, 8, 8, 3]] : [permute(image, [n, 8, 8, 3], TO_NCHW), [n, 3, 8, 8]];
      expect(maxDifference(await runtimeFeeds(first, { triplet, metadata: [metadata, [n, 4]] }), expected), layout).toBeLessThan(ORT_TOLERANCE);
      const again = importOnnxGraph(first);
      expect(again.preprocess).toBe('scale255');
      const rebuilt = Model.fromGraph(again.graph, cpuBackend, 0);
      rebuilt.setWeights(again.weights);
      expect(Array.from(await probs(rebuilt, image, metadata)), layout).toEqual(Array.from(expected));
      const second = exportOnnxGraph(again.graph, await rebuilt.getWeights(), options(layout, ['p_real']));
      expect(Buffer.compare(Buffer.from(second), Buffer.from(first)), `${layout}: the files differ`).toBe(0);
    }
  });
});

describe('an imported model fine-tunes', () => {
  it('CPU gradients of every parameter of the imported tf2onnx graph match finite differences', () => {
    const random = rng(TEST_SEED + 5);
    const model = imported(tf2onnxGraph(random), cpuBackend);
    const ctx = { training: true, step: 1 };
    const x = CpuTensor.from(images(3, [12, 12, 3], random), [3, 12, 12, 3]);
    const targets = CpuTensor.from([1, 0, 1], [3, 1]);
    const { numeric, exact, crossed } = finiteDifferences(model, x, targets, ctx, FD_STEP);
    expect(crossed, `parameters whose step crossed a kink (seed ${TEST_SEED})`).toBeLessThanOrEqual(0.02 * (numeric.length + crossed));
    expect(relativeError(numeric, exact)).toBeLessThan(FINITE_DIFFERENCES);
  });

  it('trains a few Adam steps on the GPU, and exports again to a file ONNX Runtime scores as Handscan does', async () => {
    const random = rng(TEST_SEED + 6);
    const B = backendOf(gpu());
    const model = imported(tf2onnxGraph(random), B);
    const n = 16;
    const x = images(n, [12, 12, 3], random);
    const labels = Int32Array.from({ length: n }, () => Number(random() < 0.5));
    const source: BatchSource = {
      count: n,
      classes: 1,
      labels,
      fill(indices, xs, targets) {
        Array.from(indices).forEach((s, i) => {
          xs.set(x.subarray(s * 432, (s + 1) * 432), i * 432);
          targets[i] = labels[s];
        });
      },
    };
    const before = await handscanProbs(model, x, n);
    const optimizer = makeOptimizer('adam', B, model.parameters(), 1e-2);
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    for (let epoch = 0; epoch < 3; epoch++) await trainEpoch(model, optimizer, source, order, 8);
    const after = await handscanProbs(model, x, n);
    expect(maxDifference(after, before)).toBeGreaterThan(1e-3);
    const bytes = exportOnnx(model.spec, await model.getWeights(), options('nhwc', ['p_real']));
    expect(maxDifference(await runtime(bytes, x, n, [12, 12, 3], 'nhwc'), after)).toBeLessThan(ORT_TOLERANCE);
  });
});

/** The error importOnnxGraph throws for a file, which must be one line. */
function importError(bytes: Uint8Array): string {
  try {
    importOnnxGraph(bytes);
  } catch (e) {
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('the file imported');
}

describe('bad ONNX files', () => {
  it('a truncated file, opset 9 and an unsupported op (LSTM): one line each and exit 1 through predict', async () => {
    const random = rng(TEST_SEED + 7);
    const good = tf2onnxGraph(random);
    const lstm = new GraphWriter(random).node('Transpose', 't', [], { perm: [0, 3, 1, 2] }).node('Flatten', 'f').node('LSTM', 'lstm_1', [], { hidden_size: 4 }).bytes([12, 12, 3], [4]);
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated.onnx', good.subarray(0, Math.floor(good.length / 2)), /truncated\.onnx: not an ONNX model, or a truncated one/],
      ['opset9.onnx', new GraphWriter(random).node('Relu', 'r').bytes([12, 12, 3], [12, 12, 3], 9), /opset9\.onnx: ONNX graph: opset 9 of ONNX's default domain; Handscan reads opsets 13 to 23/],
      ['lstm.onnx', lstm, /lstm\.onnx: ONNX node 'lstm_1' \(LSTM\): op LSTM is not supported/],
    ];
    for (const [name, bytes, message] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const r = await handscan(['predict', '--weights', path, '--data', PACKETS, '--out', join(dir, `${name}.csv`)]);
      expect(r.code, name).toBe(1);
      expect(errorLines(r), name).toHaveLength(1);
      expect(errorLines(r)[0], name).toMatch(message);
    }
  });

  it('what Handscan does not import is refused in one line naming it: another domain, pads neither valid nor same, a Concat across channels', () => {
    const random = rng(TEST_SEED + 8);
    const across = new GraphWriter(random).node('Transpose', 't', [], { perm: [0, 3, 1, 2] }).on(['t', 't'], 'Concat', 'wide', [], { axis: 2 });
    expect(() => importOnnxGraph(across.bytes([12, 12, 3], [3, 24, 12]))).toThrow(/ONNX node 'wide' \(Concat\): axis 2 is not Handscan's last \(channels or features\)/);
    const squeeze = new GraphWriter(random);
    squeeze.node('Squeeze', 'sq', [squeeze.int64('axes', [1])]);
    expect(() => importOnnxGraph(squeeze.bytes([12, 12, 3], [12, 3]))).toThrow("ONNX node 'sq' (Squeeze): squeezes axes [1] of [N, 12,12,3]; Handscan squeezes size-1 axes of an image only down to N×features");

    expect(importError(new GraphWriter(random).node('FusedConv', 'fc', [], {}, 'com.microsoft').bytes([12, 12, 3], [12, 12, 3]))).toMatch(/ONNX node 'fc' \(FusedConv\): is in domain 'com.microsoft'/);

    const w = new GraphWriter(random).node('Transpose', 't', [], { perm: [0, 3, 1, 2] });
    w.node('Conv', 'odd', [w.constant('k', [2, 3, 3, 3])], { kernel_shape: [3, 3], pads: [2, 0, 0, 0] });
    expect(importError(w.bytes([12, 12, 3], [2, 12, 10]))).toMatch(/ONNX node 'odd' \(Conv\): pads \[2,0,0,0\] on a 12×12 input are neither TF's 'valid' nor its 'same'/);
  });
});
