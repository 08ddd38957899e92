// The Keras 2 Sequential `model_config` JSON of a ModelSpec, and back: pure
// data, no file (src/io/keras-hdf5.ts reads and writes the HDF5 files that
// carry it), so that it runs in a browser too.
import type { Padding } from '../kernels/backend.ts';
import { KERAS_CLASS, kerasLayerNames } from './keras-names.ts';
import { modelSpec, type ModelName } from './models.ts';
import type { LayerWeights } from './sequential.ts';
import { ACTIVATIONS, type Activation, type LayerSpec, type ModelSpec, type Pair } from './spec.ts';

interface KerasLayerConfig {
  class_name: string;
  config: Record<string, unknown> & { name: string };
}

/**
 * A checkpoint's layer list for a spec: every layer of the model in order,
 * named as Keras names it, with the weights of `weighted` (from
 * Sequential.getWeights, which lists only layers with weights) matched by name.
 */
export function kerasLayers(spec: ModelSpec, weighted: readonly LayerWeights[]): LayerWeights[] {
  const byName = new Map(weighted.map((l) => [l.name, l]));
  const layers = kerasLayerNames(spec).map((name) => ({ name, weights: byName.get(name)?.weights ?? [] }));
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

/** The model_config of one of the paper's two networks (REFERENCE.md). */
export function kerasModelConfig(model: ModelName, classes: number) {
  return kerasModelConfigOf(modelSpec(model, classes));
}

/** The layer list of a Sequential model_config: Keras 2.2+ nests it in config.layers, Keras 2.0-2.1 made config the list. */
export function kerasConfigLayers(config: unknown): KerasLayerConfig[] {
  let c = config as { class_name?: unknown; config?: unknown } | null;
  if (typeof config === 'string') {
    try {
      c = JSON.parse(config);
    } catch (e) {
      throw new Error(`model_config is not valid JSON (${(e as Error).message})`);
    }
  }
  if (c?.class_name !== 'Sequential') throw new Error(`model_config: only Sequential models are supported, this is ${JSON.stringify(c?.class_name ?? null)}`);
  const layers = Array.isArray(c.config) ? c.config : (c.config as { layers?: unknown })?.layers;
  if (!Array.isArray(layers)) throw new Error('model_config: the Sequential model has no layer list');
  layers.forEach((l, i) => {
    if (typeof l?.class_name !== 'string' || typeof l?.config?.name !== 'string') throw new Error(`model_config: layer ${i + 1} has no class_name or name`);
  });
  return layers;
}

const SUPPORTED = 'Conv2D, MaxPooling2D, AveragePooling2D, BatchNormalization, Flatten, Dense, Dropout, Activation, ReLU, LeakyReLU, Softmax and InputLayer';

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
    const fail = (why: string): never => {
      throw new Error(`model_config: layer ${i + 1} '${c.name}' (${kind}): ${why}`);
    };
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
    const named = (l: LayerSpec): LayerSpec => ({ ...l, name: c.name });
    const shape = c.batch_input_shape ?? c.batch_shape;
    if (shape !== undefined) {
      if (i > 0) fail('an input shape on a layer other than the first');
      inputShape = shape;
    }
    expect('data_format', 'channels_last');
    const needsImage = () => rank === 4 || fail('needs an image input, but it follows a Flatten');
    switch (kind) {
      case 'InputLayer':
        if (i > 0) fail('an InputLayer must come first');
        break;
      case 'Conv2D': {
        needsImage();
        const kernel = pair('kernel_size');
        if (kernel.some((k) => k > 7)) fail(`kernel_size ${JSON.stringify(c.kernel_size)} is not supported: each side must be 1 to 7`);
        expect('dilation_rate', [1, 1]);
        expect('groups', 1);
        layers.push(named({ type: 'conv2d', filters: positive('filters'), kernelSize: kernel, strides: pair('strides', [1, 1]), padding: padding(), useBias: flag('use_bias', true), activation: activation() }));
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        needsImage();
        const size = pair('pool_size', [2, 2]);
        layers.push(named({ type: kind === 'MaxPooling2D' ? 'maxpool2d' : 'avgpool2d', poolSize: size, strides: pair('strides', size), padding: padding() }));
        break;
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
        layers.push(named({ type: 'batchnorm', momentum: momentum as number, epsilon: epsilon as number, center: flag('center', true), scale: flag('scale', true) }));
        break;
      }
      case 'Flatten':
        rank = 2;
        layers.push(named({ type: 'flatten' }));
        break;
      case 'Dense':
        if (rank !== 2) fail('needs a flat input: add a Flatten before it');
        layers.push(named({ type: 'dense', units: positive('units'), useBias: flag('use_bias', true), activation: activation() }));
        break;
      case 'LeakyReLU': {
        // Keras 3 renamed alpha to negative_slope.
        const alpha = c.alpha ?? c.negative_slope ?? 0.3;
        if (typeof alpha !== 'number' || !(alpha >= 0)) fail(`alpha ${JSON.stringify(alpha)} is not a non-negative number`);
        layers.push(named({ type: 'leakyrelu', alpha: alpha as number }));
        break;
      }
      case 'ReLU': {
        expect('max_value', null, 'null');
        expect('threshold', 0);
        const slope = c.negative_slope ?? 0;
        if (typeof slope !== 'number' || !(slope >= 0)) fail(`negative_slope ${JSON.stringify(slope)} is not a non-negative number`);
        layers.push(named(slope === 0 ? { type: 'relu' } : { type: 'leakyrelu', alpha: slope as number }));
        break;
      }
      case 'Activation':
        layers.push(named({ type: 'activation', activation: activation() }));
        break;
      case 'Softmax':
        expect('axis', -1);
        layers.push(named({ type: 'activation', activation: 'softmax' }));
        break;
      case 'Dropout': {
        const rate = c.rate;
        if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) fail(`rate ${JSON.stringify(rate)} is not in [0, 1)`);
        expect('noise_shape', null, 'null');
        layers.push(named({ type: 'dropout', rate: rate as number }));
        break;
      }
      default:
        fail(`is not supported: Handscan runs ${SUPPORTED}`);
    }
  }
  const shape = inputShape as unknown[];
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.slice(1).every((d) => Number.isInteger(d) && (d as number) > 0)) {
    throw new Error(`model_config: the first layer needs batch_input_shape [null, H, W, C], found ${JSON.stringify(inputShape ?? null)}`);
  }
  // A name Keras would have given anyway is not kept, so that a file's spec equals the built-in one it saves.
  const spec: ModelSpec = { inputShape: shape.slice(1) as [number, number, number], layers };
  const automatic = kerasLayerNames({ ...spec, layers: layers.map(({ name: _, ...l }) => l as LayerSpec) });
  spec.layers = layers.map(({ name, ...l }, i) => (name === automatic[i] ? (l as LayerSpec) : { ...l, name } as LayerSpec));
  return spec;
}
