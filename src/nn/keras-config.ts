// The Keras 2 Sequential `model_config` JSON of a ModelSpec, and back, and a
// functional model's config as a GraphSpec: pure
// data, no file (src/io/keras-hdf5.ts reads and writes the HDF5 files that
// carry it), so that it runs in a browser too.
import type { Padding } from '../kernels/backend.ts';
import { KERAS_CLASS, kerasLayerNames } from './keras-names.ts';
import { modelSpec, type ModelName } from './models.ts';
import type { LayerWeights } from './sequential.ts';
import { ACTIVATIONS, isGraph, type Activation, type Architecture, type GraphSpec, type LayerSpec, type ModelSpec, type Pair } from './spec.ts';

interface KerasLayerConfig {
  class_name: string;
  config: Record<string, unknown> & { name: string };
}

/**
 * A checkpoint's layer list for an architecture: every layer of the model in order,
 * named as Keras names it, with the weights of `weighted` (from
 * Sequential.getWeights, which lists only layers with weights) matched by name.
 */
export function kerasLayers(architecture: Architecture, weighted: readonly LayerWeights[]): LayerWeights[] {
  const byName = new Map(weighted.map((l) => [l.name, l]));
  // A functional model's InputLayers are layers of the file too, without weights.
  const names = isGraph(architecture) ? [...architecture.inputs.map((i) => i.name), ...nodeNames(architecture)] : kerasLayerNames(architecture);
  const layers = names.map((name) => ({ name, weights: byName.get(name)?.weights ?? [] }));
  const unused = weighted.filter((l) => !layers.some((k) => k.name === l.name));
  if (unused.length > 0) throw new Error(`weights for layers [${unused.map((l) => l.name).join(', ')}] that the model does not have`);
  return layers;
}

// Keras 2.2's get_config() fields: Glorot uniform is VarianceScaling(1, fan_avg, uniform), which every Keras 2 deserialises.
const GLOROT_UNIFORM = { class_name: 'VarianceScaling', config: { scale: 1.0, mode: 'fan_avg', distribution: 'uniform', seed: null } };
const ZEROS = { class_name: 'Zeros', config: {} };
const NO_REGULARIZATION = { kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null };

function kerasLayerConfig(l: LayerSpec): Record<string, unknown> {
  switch (l.type) {
    case 'conv2d':
      return {
        filters: l.filters,
        kernel_size: [...l.kernelSize],
        strides: [...l.strides],
        padding: l.padding,
        data_format: 'channels_last',
        dilation_rate: [1, 1],
        activation: l.activation,
        use_bias: l.useBias,
        kernel_initializer: GLOROT_UNIFORM,
        bias_initializer: ZEROS,
        ...NO_REGULARIZATION,
      };
    case 'maxpool2d':
    case 'avgpool2d':
      return { pool_size: [...l.poolSize], padding: l.padding, strides: [...l.strides], data_format: 'channels_last' };
    case 'flatten':
      return { data_format: 'channels_last' };
    case 'reshape':
      return { target_shape: [...l.targetShape] };
    case 'dense':
      return { units: l.units, activation: l.activation, use_bias: l.useBias, kernel_initializer: GLOROT_UNIFORM, bias_initializer: ZEROS, ...NO_REGULARIZATION };
    case 'relu':
      return { max_value: null, negative_slope: 0.0, threshold: 0.0 };
    case 'leakyrelu':
      return { alpha: l.alpha };
    case 'dropout':
      return { rate: l.rate, noise_shape: null, seed: null };
    case 'activation':
      return { activation: l.activation };
    case 'concat':
      return { axis: -1 };
    case 'add':
      return {};
    case 'batchnorm':
      return {
        axis: -1,
        momentum: l.momentum,
        epsilon: l.epsilon,
        center: l.center,
        scale: l.scale,
        beta_initializer: ZEROS,
        gamma_initializer: { class_name: 'Ones', config: {} },
        moving_mean_initializer: ZEROS,
        moving_variance_initializer: { class_name: 'Ones', config: {} },
        beta_regularizer: null,
        gamma_regularizer: null,
        beta_constraint: null,
        gamma_constraint: null,
      };
  }
}

/** The Keras 2 Sequential model_config of a spec: what Keras's model.get_config() would give for the same network. */
export function kerasModelConfigOf(spec: ModelSpec): { class_name: 'Sequential'; config: { name: string; layers: KerasLayerConfig[] } } {
  const names = kerasLayerNames(spec);
  const layers = spec.layers.map((l, i) => ({
    class_name: KERAS_CLASS[l.type][0],
    config: {
      name: names[i],
      trainable: true,
      ...(i === 0 ? { batch_input_shape: [null, ...spec.inputShape] } : {}),
      dtype: 'float32',
      ...kerasLayerConfig(l),
    },
  }));
  return { class_name: 'Sequential', config: { name: 'sequential_1', layers } };
}

const nodeNames = (graph: GraphSpec) => kerasLayerNames({ layers: graph.nodes.map((n) => n.layer) });

/**
 * The Keras 2 functional model_config of a graph, as Keras 2.2 writes a
 * Model's (parseKerasGraphConfig reads it back): an InputLayer per input,
 * then each node with the [name, 0, 0, {}] of what its one call reads.
 */
export function kerasGraphConfigOf(graph: GraphSpec) {
  const names = nodeNames(graph);
  const inputs = graph.inputs.map(({ name, shape }) => ({ name, class_name: 'InputLayer', config: { batch_input_shape: [null, ...shape], dtype: 'float32', sparse: false, name }, inbound_nodes: [] }));
  const nodes = graph.nodes.map((n, i) => ({
    name: names[i],
    class_name: KERAS_CLASS[n.layer.type][0],
    config: { name: names[i], trainable: true, dtype: 'float32', ...kerasLayerConfig(n.layer) },
    inbound_nodes: [n.inputs.map((name) => [name, 0, 0, {}])],
  }));
  return { class_name: 'Model', config: { name: 'model_1', layers: [...inputs, ...nodes], input_layers: graph.inputs.map((i) => [i.name, 0, 0]), output_layers: [[names.at(-1), 0, 0]] } };
}

/** The model_config of either architecture: Sequential for a chain, Model for any other graph. */
export function kerasArchitectureConfig(architecture: Architecture) {
  return isGraph(architecture) ? kerasGraphConfigOf(architecture) : kerasModelConfigOf(architecture);
}

/** The model_config of one of the paper's two networks (REFERENCE.md). */
export function kerasModelConfig(model: ModelName, classes: number) {
  return kerasModelConfigOf(modelSpec(model, classes));
}

/** The layer list of a Sequential model_config: Keras 2.2+ nests it in config.layers, Keras 2.0-2.1 made config the list. */
export function kerasConfigLayers(config: unknown): KerasLayerConfig[] {
  const c = (typeof config === 'string' ? parseJson(config) : config) as { class_name?: unknown; config?: unknown } | null;
  if (c?.class_name !== 'Sequential') throw new Error(`model_config: only Sequential models are supported, this is ${JSON.stringify(c?.class_name ?? null)}`);
  const layers = Array.isArray(c.config) ? c.config : (c.config as { layers?: unknown })?.layers;
  if (!Array.isArray(layers)) throw new Error('model_config: the Sequential model has no layer list');
  layers.forEach((l, i) => {
    if (typeof l?.class_name !== 'string' || typeof l?.config?.name !== 'string') throw new Error(`model_config: layer ${i + 1} has no class_name or name`);
  });
  return layers;
}

const SUPPORTED = 'Conv2D, MaxPooling2D, AveragePooling2D, BatchNormalization, Flatten, Reshape, Dense, Dropout, Activation, ReLU, LeakyReLU, Softmax, InputLayer, and in a functional model Concatenate and Add';

/**
 * One Keras layer's config as a LayerSpec named as the file names it, on
 * activations of `rank` (4 for images, 2 once flat); null for an InputLayer.
 * Returns the rank of its output too. `fail` throws the one-line error.
 */
function kerasLayerSpec(kind: string, c: KerasLayerConfig['config'], rank: number, fail: (why: string) => never): { layer: LayerSpec | null; rank: number } {
  const expect = (key: string, wanted: unknown, shown = JSON.stringify(wanted)) => {
    if (key in c && c[key] !== null && JSON.stringify(c[key]) !== JSON.stringify(wanted)) fail(`${key} ${JSON.stringify(c[key])} is not supported, only ${shown}`);
  };
  const activation = (): Activation => {
    const a = c.activation ?? 'linear';
    return ACTIVATIONS.includes(a as Activation) ? (a as Activation) : fail(`activation ${JSON.stringify(a)} is not supported (${ACTIVATIONS.join(', ')})`);
  };
  const positive = (key: string): number => {
    const v = c[key];
    return Number.isInteger(v) && (v as number) > 0 ? (v as number) : fail(`${key} ${JSON.stringify(v)} is not a positive integer`);
  };
  // Keras accepts an int or a pair for sizes and strides.
  const pair = (key: string, fallback?: Pair): Pair => {
    const v = c[key] ?? fallback;
    const p = typeof v === 'number' ? [v, v] : v;
    if (!Array.isArray(p) || p.length !== 2 || !p.every((n) => Number.isInteger(n) && n > 0)) return fail(`${key} ${JSON.stringify(v ?? null)} is not a positive integer or a pair of them`);
    return [p[0] as number, p[1] as number];
  };
  const padding = (): Padding => {
    const p = c.padding ?? 'valid';
    return p === 'valid' || p === 'same' ? p : fail(`padding ${JSON.stringify(p)} is not supported, only 'valid' and 'same'`);
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const v = c[key] ?? fallback;
    return typeof v === 'boolean' ? v : fail(`${key} ${JSON.stringify(v)} is not true or false`);
  };
  const named = (l: LayerSpec, out = rank) => ({ layer: { ...l, name: c.name }, rank: out });
  expect('data_format', 'channels_last');
  const needsImage = () => rank === 4 || fail('needs an image input, but it follows a Flatten');
  switch (kind) {
    case 'InputLayer':
      return { layer: null, rank };
    case 'Conv2D': {
      needsImage();
      const kernel = pair('kernel_size');
      if (kernel.some((k) => k > 7)) fail(`kernel_size ${JSON.stringify(c.kernel_size)} is not supported: each side must be 1 to 7`);
      expect('dilation_rate', [1, 1]);
      expect('groups', 1);
      return named({ type: 'conv2d', filters: positive('filters'), kernelSize: kernel, strides: pair('strides', [1, 1]), padding: padding(), useBias: flag('use_bias', true), activation: activation() });
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      needsImage();
      const size = pair('pool_size', [2, 2]);
      return named({ type: kind === 'MaxPooling2D' ? 'maxpool2d' : 'avgpool2d', poolSize: size, strides: pair('strides', size), padding: padding() });
    }
    case 'BatchNormalization': {
      // Channels last: the last axis, as -1 or its index, alone or in a list.
      const axis = Array.isArray(c.axis) && c.axis.length === 1 ? c.axis[0] : (c.axis ?? -1);
      if (axis !== -1 && axis !== rank - 1) fail(`axis ${JSON.stringify(c.axis)} is not supported, only the last (channels) axis`);
      const momentum = c.momentum ?? 0.99;
      const epsilon = c.epsilon ?? 1e-3;
      if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) fail(`momentum ${JSON.stringify(momentum)} is not in [0, 1]`);
      if (typeof epsilon !== 'number' || !(epsilon > 0)) fail(`epsilon ${JSON.stringify(epsilon)} is not a positive number`);
      expect('renorm', false);
      return named({ type: 'batchnorm', momentum: momentum as number, epsilon: epsilon as number, center: flag('center', true), scale: flag('scale', true) });
    }
    case 'Flatten':
      return named({ type: 'flatten' }, 2);
    case 'Reshape': {
      const target = c.target_shape;
      if (!Array.isArray(target) || (target.length !== 1 && target.length !== 3) || !target.every((d) => Number.isInteger(d) && d > 0)) fail(`target_shape ${JSON.stringify(target ?? null)} is not [K] or [H, W, C] of positive sizes`);
      return named({ type: 'reshape', targetShape: [...(target as number[])] }, (target as number[]).length + 1);
    }
    case 'Dense':
      if (rank !== 2) fail('needs a flat input: add a Flatten before it');
      return named({ type: 'dense', units: positive('units'), useBias: flag('use_bias', true), activation: activation() });
    case 'LeakyReLU': {
      // Keras 3 renamed alpha to negative_slope.
      const alpha = c.alpha ?? c.negative_slope ?? 0.3;
      if (typeof alpha !== 'number' || !(alpha >= 0)) fail(`alpha ${JSON.stringify(alpha)} is not a non-negative number`);
      return named({ type: 'leakyrelu', alpha: alpha as number });
    }
    case 'ReLU': {
      expect('max_value', null, 'null');
      expect('threshold', 0);
      const slope = c.negative_slope ?? 0;
      if (typeof slope !== 'number' || !(slope >= 0)) fail(`negative_slope ${JSON.stringify(slope)} is not a non-negative number`);
      return named(slope === 0 ? { type: 'relu' } : { type: 'leakyrelu', alpha: slope as number });
    }
    case 'Activation':
      return named({ type: 'activation', activation: activation() });
    case 'Softmax':
      expect('axis', -1);
      return named({ type: 'activation', activation: 'softmax' });
    case 'Dropout': {
      const rate = c.rate;
      if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) fail(`rate ${JSON.stringify(rate)} is not in [0, 1)`);
      expect('noise_shape', null, 'null');
      return named({ type: 'dropout', rate: rate as number });
    }
    default:
      return fail(`is not supported: Handscan runs ${SUPPORTED}`);
  }
}

/** The error of layer `i` (from 0) of a model_config. */
const failAt =
  (i: number, name: string, kind: string) =>
  (why: string): never => {
    throw new Error(`model_config: layer ${i + 1} '${name}' (${kind}): ${why}`);
  };

/** A batch_input_shape (or Keras 3's batch_shape) [null, H, W, C] as [H, W, C], or [null, K] as [K] where `vectors` are allowed. */
function inputShapeOf(shape: unknown, vectors: boolean, where: string): number[] {
  const ranks = vectors ? [2, 4] : [4];
  if (!Array.isArray(shape) || !ranks.includes(shape.length) || !shape.slice(1).every((d) => Number.isInteger(d) && (d as number) > 0)) {
    throw new Error(`model_config: ${where} needs batch_input_shape [null, H, W, C]${vectors ? ' or [null, K]' : ''}, found ${JSON.stringify(shape ?? null)}`);
  }
  return shape.slice(1) as number[];
}

/**
 * Parses a Keras 2 Sequential model_config (object or JSON string; Keras
 * 2.0–2.2 and tf.keras layouts) into a ModelSpec that keeps the file's layer
 * names. Throws a one-line Error naming the first layer or setting Handscan
 * cannot run, with the layer's name and class.
 */
export function parseKerasModelConfig(config: unknown): ModelSpec {
  const layers: LayerSpec[] = [];
  let inputShape: unknown;
  // The rank of the activations so far: images until a Flatten.
  let rank = 4;
  for (const [i, { class_name: kind, config: c }] of kerasConfigLayers(config).entries()) {
    const fail = failAt(i, c.name, kind);
    const shape = c.batch_input_shape ?? c.batch_shape;
    if (shape !== undefined) {
      if (i > 0) fail('an input shape on a layer other than the first');
      inputShape = shape;
    }
    if (kind === 'InputLayer' && i > 0) fail('an InputLayer must come first');
    if (kind === 'Concatenate' || kind === 'Add') fail('merges several inputs, which only a functional model has');
    const parsed = kerasLayerSpec(kind, c, rank, fail);
    rank = parsed.rank;
    if (parsed.layer) layers.push(parsed.layer);
  }
  // A name Keras would have given anyway is not kept, so that a file's spec equals the built-in one it saves.
  const spec: ModelSpec = { inputShape: inputShapeOf(inputShape, false, 'the first layer') as [number, number, number], layers };
  const automatic = kerasLayerNames({ layers: layers.map(({ name: _, ...l }) => l as LayerSpec) });
  spec.layers = layers.map(({ name, ...l }, i) => (name === automatic[i] ? (l as LayerSpec) : ({ ...l, name } as LayerSpec)));
  return spec;
}

/** A functional model's layer: its config and the tensors its one call reads. */
interface KerasFunctionalLayer extends KerasLayerConfig {
  inbound_nodes?: unknown;
}

/** The name in a reference to a layer's output, [name, 0, 0] (Keras 2) or a __keras_tensor__'s keras_history (Keras 3); only a layer's first output of its first call. */
function referenced(ref: unknown, fail: (why: string) => never): string {
  const history = (ref as { config?: { keras_history?: unknown } })?.config?.keras_history ?? ref;
  if (!Array.isArray(history) || typeof history[0] !== 'string') return fail(`reads ${JSON.stringify(ref)}, which is not a layer's output`);
  if ((history[1] ?? 0) !== 0 || (history[2] ?? 0) !== 0) fail(`reads output ${history[2]} of call ${history[1]} of '${history[0]}'; Handscan calls each layer once, with one output`);
  return history[0];
}

/** What a layer's one call reads: Keras 2's [[[name, 0, 0, {}], ...]], or Keras 3's [{args: [tensor or [tensors]]}]. */
function inboundNames(layer: KerasFunctionalLayer, fail: (why: string) => never): string[] {
  const calls = layer.inbound_nodes ?? [];
  if (!Array.isArray(calls) || calls.length > 1) return fail(`is called ${Array.isArray(calls) ? calls.length : '?'} times; Handscan runs a layer once (no shared layers)`);
  if (calls.length === 0) return [];
  const call = calls[0] as unknown;
  // Keras 3's first argument is one tensor, or a merge's list of them.
  const arg = Array.isArray(call) ? call : (call as { args?: unknown[] })?.args?.[0];
  return (Array.isArray(arg) ? arg : [arg]).map((r) => referenced(r, fail));
}

/** The names in input_layers or output_layers: [[name, 0, 0], ...], or one [name, 0, 0]. */
function endpointNames(list: unknown, key: string): string[] {
  const refs = Array.isArray(list) && typeof list[0] === 'string' ? [list] : list;
  if (!Array.isArray(refs) || refs.length === 0) throw new Error(`model_config: the functional model has no ${key}`);
  return refs.map((r) => referenced(r, (why) => {
    throw new Error(`model_config: ${key} ${why}`);
  }));
}

/**
 * Parses a Keras functional model_config (class_name Model, as Keras 2.2
 * writes it, or Functional, as tf.keras; object or JSON string) into a
 * GraphSpec: its InputLayers (images or vectors) are the inputs, each other
 * layer a node named as the file names it, reading what its inbound_nodes
 * say, in the file's (topological) order, the one output layer last. Throws
 * a one-line Error naming the first layer Handscan cannot run.
 */
export function parseKerasGraphConfig(config: unknown): GraphSpec {
  const c = (typeof config === 'string' ? parseJson(config) : config) as { class_name?: unknown; config?: { layers?: unknown; input_layers?: unknown; output_layers?: unknown } } | null;
  if (c?.class_name !== 'Model' && c?.class_name !== 'Functional') throw new Error(`model_config: a functional model is class Model or Functional, this is ${JSON.stringify(c?.class_name ?? null)}`);
  const layers = c.config?.layers;
  if (!Array.isArray(layers)) throw new Error('model_config: the functional model has no layer list');
  const inputs = endpointNames(c.config?.input_layers, 'input_layers');
  const outputs = endpointNames(c.config?.output_layers, 'output_layers');
  if (outputs.length !== 1) throw new Error(`model_config: ${outputs.length} output layers (${outputs.join(', ')}); Handscan's models have one output head`);
  const graph: GraphSpec = { inputs: [], nodes: [] };
  // Each name's activation rank: 4 for images, 2 for vectors.
  const ranks = new Map<string, number>();
  (layers as KerasFunctionalLayer[]).forEach((l, i) => {
    if (typeof l?.class_name !== 'string' || typeof l?.config?.name !== 'string') throw new Error(`model_config: layer ${i + 1} has no class_name or name`);
    const { class_name: kind, config: lc } = l;
    const fail = failAt(i, lc.name, kind);
    if (ranks.has(lc.name)) fail('its name is taken by an earlier layer');
    const reads = inboundNames(l, fail);
    if (kind === 'InputLayer') {
      if (!inputs.includes(lc.name)) fail('is not among input_layers');
      const shape = inputShapeOf(lc.batch_input_shape ?? lc.batch_shape, true, `input '${lc.name}'`);
      graph.inputs.push({ name: lc.name, shape });
      ranks.set(lc.name, shape.length + 1);
      return;
    }
    const inRanks = reads.map((r) => ranks.get(r) ?? fail(`reads '${r}', which is not an earlier layer (layers must be in topological order)`));
    let rank = inRanks[0];
    let layer: LayerSpec;
    if (kind === 'Concatenate' || kind === 'Add') {
      if (reads.length < 2) fail(`merges ${reads.length} input; it needs two or more`);
      if (inRanks.some((r) => r !== rank)) fail(`merges inputs of ranks ${inRanks.join(', ')}`);
      if (kind === 'Concatenate' && (lc.axis ?? -1) !== -1 && lc.axis !== rank - 1) fail(`axis ${JSON.stringify(lc.axis)} is not supported, only the last`);
      layer = { type: kind === 'Concatenate' ? 'concat' : 'add', name: lc.name };
    } else {
      if (reads.length !== 1) fail(`reads ${reads.length} inputs; it takes one`);
      const parsed = kerasLayerSpec(kind, lc, rank, fail);
      layer = parsed.layer!;
      rank = parsed.rank;
    }
    graph.nodes.push({ layer, inputs: reads });
    ranks.set(lc.name, rank);
  });
  const missing = inputs.find((name) => !graph.inputs.some((i) => i.name === name));
  if (missing) throw new Error(`model_config: input_layers names '${missing}', which is no InputLayer`);
  const last = graph.nodes.at(-1)?.layer.name;
  if (last !== outputs[0]) throw new Error(`model_config: the output layer '${outputs[0]}' must be the last layer, not '${last ?? 'none'}'`);
  return graph;
}

/**
 * The layers a model_config's weight file lists, in order: a Sequential's
 * without its InputLayer (Keras lists none), a functional model's all of
 * them, InputLayers included.
 */
export function kerasConfigLayerNames(config: unknown): string[] {
  const c = typeof config === 'string' ? parseJson(config) : config;
  const kind = (c as { class_name?: unknown } | null)?.class_name;
  if (kind !== 'Model' && kind !== 'Functional') return kerasConfigLayers(c).filter((l) => l.class_name !== 'InputLayer').map((l) => l.config.name);
  const layers = (c as { config?: { layers?: unknown } }).config?.layers;
  if (!Array.isArray(layers)) throw new Error('model_config: the functional model has no layer list');
  return layers.map((l, i) => {
    if (typeof l?.config?.name !== 'string') throw new Error(`model_config: layer ${i + 1} has no name`);
    return l.config.name;
  });
}

/** A model_config of either kind: a Sequential's ModelSpec, or a functional model's GraphSpec. */
export function parseKerasArchitecture(config: unknown): ModelSpec | GraphSpec {
  const c = typeof config === 'string' ? parseJson(config) : config;
  const kind = (c as { class_name?: unknown } | null)?.class_name;
  return kind === 'Model' || kind === 'Functional' ? parseKerasGraphConfig(c) : parseKerasModelConfig(c);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`model_config is not valid JSON (${(e as Error).message})`);
  }
}
