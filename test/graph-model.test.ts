// The graph model (src/nn/model.ts): a two-input network (an image and a
// metadata vector) with a Concatenate and an Add, its CPU gradients of every
// parameter against float64 finite differences, the GPU against the CPU; a
// Keras functional model_config (Keras 2 and Keras 3 layouts) parsed into
// the same graph; Sequential as the chain graph of the same class.
import { describe, expect, it } from 'vitest';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { CpuTensor } from '../src/kernels/cpu-tensor.ts';
import { parseKerasGraphConfig } from '../src/nn/keras-config.ts';
import { constantInputs, graphOf, Model } from '../src/nn/model.ts';
import { initialModel } from '../src/nn/models.ts';
import { Sequential } from '../src/nn/sequential.ts';
import type { GraphSpec } from '../src/nn/spec.ts';
import { Tape } from '../src/nn/tape.ts';
import { expectClose, relativeError } from './support/compare.ts';
import { backendOf, useGpu } from './support/gpu.ts';
import { analyticGradients, graphLoss } from './support/network.ts';
import { randomTensor, rng, TEST_SEED } from './support/random.ts';
import { FD_STEP, FINITE_DIFFERENCES, GPU_VS_CPU } from './support/tolerances.ts';

const gpu = useGpu();

/**
 * BTSbot's shape in small: a conv branch on the image, flattened; a dense
 * branch on the metadata, reshaped to a 2×2 image (Keras's Reshape) for a
 * 2×2 conv of 4 filters and flattened again; the two added, then concatenated with the raw
 * metadata, batch-normalised, dropped out, one sigmoid unit. Smooth
 * activations only, so that no finite difference crosses a kink.
 */
export const TWO_INPUTS: GraphSpec = {
  inputs: [
    { name: 'image', shape: [5, 4, 2] },
    { name: 'meta', shape: [3] },
  ],
  nodes: [
    { layer: { type: 'conv2d', name: 'conv', filters: 2, kernelSize: [3, 3], strides: [1, 1], padding: 'valid', useBias: true, activation: 'tanh' }, inputs: ['image'] },
    { layer: { type: 'flatten', name: 'flat' }, inputs: ['conv'] },
    { layer: { type: 'dense', name: 'image_fc', units: 4, useBias: true, activation: 'tanh' }, inputs: ['flat'] },
    { layer: { type: 'dense', name: 'meta_fc', units: 4, useBias: false, activation: 'sigmoid' }, inputs: ['meta'] },
    { layer: { type: 'reshape', name: 'meta_image', targetShape: [2, 2, 1] }, inputs: ['meta_fc'] },
    { layer: { type: 'conv2d', name: 'meta_conv', filters: 4, kernelSize: [2, 2], strides: [1, 1], padding: 'valid', useBias: true, activation: 'tanh' }, inputs: ['meta_image'] },
    { layer: { type: 'flatten', name: 'meta_flat' }, inputs: ['meta_conv'] },
    { layer: { type: 'add', name: 'sum' }, inputs: ['image_fc', 'meta_flat'] },
    { layer: { type: 'concat', name: 'joined' }, inputs: ['sum', 'meta'] },
    { layer: { type: 'batchnorm', name: 'bn', momentum: 0.9, epsilon: 1e-3, center: true, scale: true }, inputs: ['joined'] },
    { layer: { type: 'dropout', name: 'drop', rate: 0.25 }, inputs: ['bn'] },
    { layer: { type: 'dense', name: 'out', units: 1, useBias: true, activation: 'sigmoid' }, inputs: ['drop'] },
  ],
};

const ctx = { training: true, step: 7 };

function batch(random: () => number) {
  const x = { image: randomTensor([4, 5, 4, 2], random), meta: randomTensor([4, 3], random) };
  const targets = CpuTensor.from([1, 0, 0, 1], [4, 1]);
  return { x, targets };
}

describe('a graph model of two inputs with Concatenate and Add', () => {
  it('CPU gradients of every parameter match finite differences', () => {
    const random = rng(TEST_SEED);
    const model = Model.fromGraph(TWO_INPUTS, cpuBackend, TEST_SEED);
    expect(model.layers.map((l) => l.name)).toEqual(['conv', 'conv/tanh', 'flat', 'image_fc', 'image_fc/tanh', 'meta_fc', 'meta_fc/sigmoid', 'meta_image', 'meta_conv', 'meta_conv/tanh', 'meta_flat', 'sum', 'joined', 'bn', 'drop', 'out', 'out/sigmoid']);
    expect(model.outputShape(4)).toEqual([4, 1]);
    const { x, targets } = batch(random);
    const analytic = analyticGradients(model, x, targets, ctx);
    const numeric: number[] = [];
    const exact: number[] = [];
    model.parameters().forEach((p, k) => {
      const values = (p.value as CpuTensor).data;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        values[i] = v + FD_STEP;
        const plus = graphLoss(model, x, targets, ctx);
        values[i] = v - FD_STEP;
        const minus = graphLoss(model, x, targets, ctx);
        values[i] = v;
        numeric.push((plus - minus) / (2 * FD_STEP));
        exact.push(analytic[k][i]);
      }
    });
    expect(numeric.length).toBe(model.parameters().reduce((n, p) => n + (p.value as CpuTensor).size, 0));
    expect(relativeError(numeric, exact), `seed ${TEST_SEED}`).toBeLessThan(FINITE_DIFFERENCES);
  });

  it('GPU gradients, moving statistics and probabilities match the CPU path', async () => {
    const B = backendOf(gpu());
    const random = rng(TEST_SEED + 1);
    const { x, targets } = batch(random);
    const cpu = Model.fromGraph(TWO_INPUTS, cpuBackend, TEST_SEED);
    const expected = analyticGradients(cpu, x, targets, ctx);
    const model = Model.fromGraph(TWO_INPUTS, B, TEST_SEED);
    const tape = new Tape(B);
    const up = (t: CpuTensor) => B.fromArray(t.data, t.shape);
    const logits = model.forward(tape, constantInputs({ image: up(x.image), meta: up(x.meta) }), ctx);
    model.loss(tape, logits, up(targets));
    tape.backward();
    for (const [i, p] of model.parameters().entries()) expectClose(await B.toArray(p.grad!), expected[i], GPU_VS_CPU, `parameter ${i} (${p.name})`);
    const [want, got] = [await cpu.getWeights(), await model.getWeights()];
    for (const [i, layer] of want.entries()) {
      for (const [j, w] of layer.weights.entries()) expectClose(got[i].weights[j].values, w.values, GPU_VS_CPU, `${layer.name}/${w.name}`);
    }
    tape.reset(model.parameters());
    const probs = model.predict({ image: up(x.image), meta: up(x.meta) });
    expectClose(await B.toArray(probs), cpu.predict(x).data, GPU_VS_CPU, 'probabilities');
  });

  it('refuses a graph it cannot run, naming the layer', () => {
    const build = (g: GraphSpec) => () => Model.fromGraph(g, cpuBackend, 0);
    const nodes = TWO_INPUTS.nodes;
    expect(build({ ...TWO_INPUTS, nodes: [nodes[3], { layer: { type: 'concat', name: 'c' }, inputs: ['meta_fc'] }] })).toThrow("layer 2 'c' (concat) reads 1 inputs; it takes two or more");
    expect(build({ ...TWO_INPUTS, nodes: [{ ...nodes[0], inputs: ['nowhere'] }] })).toThrow("layer 1 'conv' (conv2d) reads 'nowhere', which is neither an input nor an earlier layer");
    expect(build({ ...TWO_INPUTS, nodes: [nodes[3], { layer: { type: 'add', name: 'a' }, inputs: ['meta_fc', 'meta'] }] })).toThrow("layer 2 'a' (add): adds shapes [4] and [3], which differ");
    expect(build({ ...TWO_INPUTS, nodes: [nodes[0], nodes[1], { layer: { type: 'concat', name: 'c' }, inputs: ['flat', 'image'] }] })).toThrow(/layer 3 'c' \(concat\): concat: shapes \[1, 12\] and \[1, 5, 4, 2\] differ before the last axis/);
    const model = Model.fromGraph(TWO_INPUTS, cpuBackend, 0);
    expect(() => model.predict(randomTensor([1, 5, 4, 2], rng(1)))).toThrow("the model has 2 inputs ('image', 'meta'): give each by name");
    expect(() => model.predict({ image: randomTensor([1, 5, 4, 2], rng(1)) })).toThrow("no value for the model's input 'meta'");
  });
});

describe('Sequential is the chain graph', () => {
  it('a Model holding the same layers, weights and predictions as Model.fromGraph of its chain', async () => {
    const spec = initialModel(2, [12, 12, 3]);
    const chain = Sequential.build(spec, cpuBackend, TEST_SEED);
    const graph = Model.fromGraph(graphOf(spec), cpuBackend, TEST_SEED);
    expect(chain).toBeInstanceOf(Model);
    expect(chain.graph).toEqual(graphOf(spec));
    expect(await graph.getWeights()).toEqual(await chain.getWeights());
    expect(graph.summary()).toBe(chain.summary());
    const x = randomTensor([2, 12, 12, 3], rng(TEST_SEED));
    expect(Array.from(graph.predict({ input_1: x }).data)).toEqual(Array.from(chain.predict(x).data));
  });
});

/** The Keras 2 (tf.keras) functional model_config of TWO_INPUTS, as Keras's model.get_config() writes it. */
function kerasFunctional(): object {
  const ref = (name: string) => [name, 0, 0, {}];
  const layer = (class_name: string, config: object, inputs: string[]) => ({ class_name, name: (config as { name: string }).name, config, inbound_nodes: [inputs.map(ref)] });
  return {
    class_name: 'Functional',
    config: {
      name: 'btsbot_small',
      layers: [
        { class_name: 'InputLayer', name: 'image', config: { batch_input_shape: [null, 5, 4, 2], dtype: 'float32', name: 'image' }, inbound_nodes: [] },
        layer('Conv2D', { name: 'conv', filters: 2, kernel_size: [3, 3], strides: [1, 1], padding: 'valid', data_format: 'channels_last', activation: 'tanh', use_bias: true }, ['image']),
        layer('Flatten', { name: 'flat', data_format: 'channels_last' }, ['conv']),
        { class_name: 'InputLayer', name: 'meta', config: { batch_input_shape: [null, 3], dtype: 'float32', name: 'meta' }, inbound_nodes: [] },
        layer('Dense', { name: 'image_fc', units: 4, activation: 'tanh', use_bias: true }, ['flat']),
        layer('Dense', { name: 'meta_fc', units: 4, activation: 'sigmoid', use_bias: false }, ['meta']),
        layer('Reshape', { name: 'meta_image', target_shape: [2, 2, 1] }, ['meta_fc']),
        layer('Conv2D', { name: 'meta_conv', filters: 4, kernel_size: [2, 2], strides: [1, 1], padding: 'valid', data_format: 'channels_last', activation: 'tanh', use_bias: true }, ['meta_image']),
        layer('Flatten', { name: 'meta_flat', data_format: 'channels_last' }, ['meta_conv']),
        layer('Add', { name: 'sum' }, ['image_fc', 'meta_flat']),
        layer('Concatenate', { name: 'joined', axis: -1 }, ['sum', 'meta']),
        layer('BatchNormalization', { name: 'bn', axis: -1, momentum: 0.9, epsilon: 1e-3, center: true, scale: true }, ['joined']),
        layer('Dropout', { name: 'drop', rate: 0.25, noise_shape: null, seed: null }, ['bn']),
        layer('Dense', { name: 'out', units: 1, activation: 'sigmoid', use_bias: true }, ['drop']),
      ],
      input_layers: [
        ['image', 0, 0],
        ['meta', 0, 0],
      ],
      output_layers: [['out', 0, 0]],
    },
  };
}

/** The same in Keras 3's layout: each call's arguments as __keras_tensor__s, a merge's as a list, the input shape as batch_shape. */
function keras3(config: ReturnType<typeof kerasFunctional>): object {
  const tensor = ([name]: unknown[]) => ({ class_name: '__keras_tensor__', config: { shape: [null], dtype: 'float32', keras_history: [name, 0, 0] } });
  const c = structuredClone(config) as { config: { layers: { class_name: string; config: Record<string, unknown>; inbound_nodes: unknown[][][] | object[] }[] } };
  for (const l of c.config.layers) {
    if (l.class_name === 'InputLayer') {
      l.config.batch_shape = l.config.batch_input_shape;
      delete l.config.batch_input_shape;
      continue;
    }
    const refs = (l.inbound_nodes as unknown[][][])[0];
    l.inbound_nodes = [{ args: [refs.length === 1 ? tensor(refs[0]) : refs.map(tensor)], kwargs: {} }];
  }
  return { ...c, class_name: 'Functional' };
}

describe('Keras functional model_configs', () => {
  it('parse into the graph they describe, in the Keras 2 and Keras 3 layouts, as an object or JSON', () => {
    expect(parseKerasGraphConfig(kerasFunctional())).toEqual(TWO_INPUTS);
    expect(parseKerasGraphConfig(JSON.stringify({ ...kerasFunctional(), class_name: 'Model' }))).toEqual(TWO_INPUTS);
    expect(parseKerasGraphConfig(keras3(kerasFunctional()))).toEqual(TWO_INPUTS);
  });

  it('refuse what Handscan cannot run, naming the layer', () => {
    const base = kerasFunctional() as { config: { layers: { name: string; inbound_nodes: unknown[] }[]; output_layers: unknown } };
    const change = (f: (c: typeof base) => void) => () => {
      const c = structuredClone(base);
      f(c);
      return parseKerasGraphConfig(c);
    };
    expect(() => parseKerasGraphConfig({ class_name: 'Sequential', config: { layers: [] } })).toThrow('a functional model is class Model or Functional, this is "Sequential"');
    expect(change((c) => c.config.layers[4].inbound_nodes.push([['flat', 0, 0, {}]]))).toThrow("model_config: layer 5 'image_fc' (Dense): is called 2 times; Handscan runs a layer once (no shared layers)");
    expect(change((c) => (c.config.layers[4].inbound_nodes = [[['conv', 0, 0, {}]]]))).toThrow("layer 5 'image_fc' (Dense): needs a flat input: add a Flatten before it");
    expect(change((c) => (c.config.layers[1].inbound_nodes = [[['out', 0, 0, {}]]]))).toThrow("layer 2 'conv' (Conv2D): reads 'out', which is not an earlier layer (layers must be in topological order)");
    expect(change((c) => ((c.config.layers[6] as unknown as { config: object }).config = { name: 'meta_image', target_shape: [2, 2] }))).toThrow("layer 7 'meta_image' (Reshape): target_shape [2,2] is not [K] or [H, W, C] of positive sizes");
    expect(change((c) => (c.config.output_layers = [['sum', 0, 0]]))).toThrow("the output layer 'sum' must be the last layer, not 'out'");
    expect(change((c) => (c.config.output_layers = [['sum', 0, 0], ['out', 0, 0]]))).toThrow("2 output layers (sum, out); Handscan's models have one output head");
  });
});
