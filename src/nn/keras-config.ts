// The Keras 2 Sequential `model_config` JSON of a ModelSpec, and back: pure
// data, no file (src/io/keras-hdf5.ts reads and writes the HDF5 files that
// carry it), so that it runs in a browser too.
import { modelSpec, type ModelName } from './models.ts';
import type { LayerWeights } from './sequential.ts';
import type { Activation, LayerSpec, ModelSpec } from './spec.ts';

interface KerasLayerConfig {
  class_name: string;
  config: Record<string, unknown> & { name: string };
}

/** Keras's class name for each spec layer type, and the prefix of its automatic layer name. */
const KERAS_CLASS: Record<LayerSpec['type'], [className: string, prefix: string]> = {
  conv2d: ['Conv2D', 'conv2d'],
  maxpool2d: ['MaxPooling2D', 'max_pooling2d'],
  flatten: ['Flatten', 'flatten'],
  dense: ['Dense', 'dense'],
  relu: ['ReLU', 're_lu'],
  leakyrelu: ['LeakyReLU', 'leaky_re_lu'],
  dropout: ['Dropout', 'dropout'],
  softmax: ['Activation', 'activation'],
  sigmoid: ['Activation', 'activation'],
};

/** Keras 2's automatic layer names for a spec (conv2d_1, max_pooling2d_1, ...), as Sequential.build names them. */
export function kerasLayerNames(spec: ModelSpec): string[] {
  const counts = new Map<string, number>();
  return spec.layers.map((l) => {
    const prefix = KERAS_CLASS[l.type][1];
    counts.set(prefix, (counts.get(prefix) ?? 0) + 1);
    return `${prefix}_${counts.get(prefix)}`;
  });
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
        kernel_size: [l.kernelSize, l.kernelSize],
        strides: [1, 1],
        padding: 'same',
        data_format: 'channels_last',
        dilation_rate: [1, 1],
        activation: l.activation,
        use_bias: true,
        kernel_initializer: GLOROT_UNIFORM,
        bias_initializer: ZEROS,
        ...NO_REGULARIZATION,
      };
    case 'maxpool2d':
      return { pool_size: [2, 2], padding: 'same', strides: [2, 2], data_format: 'channels_last' };
    case 'flatten':
      return { data_format: 'channels_last' };
    case 'dense':
      return { units: l.units, activation: l.activation, use_bias: true, kernel_initializer: GLOROT_UNIFORM, bias_initializer: ZEROS, ...NO_REGULARIZATION };
    case 'relu':
      return { max_value: null, negative_slope: 0.0, threshold: 0.0 };
    case 'leakyrelu':
      return { alpha: l.alpha };
    case 'dropout':
      return { rate: l.rate, noise_shape: null, seed: null };
    case 'softmax':
    case 'sigmoid':
      return { activation: l.type };
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

const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'softmax', 'sigmoid'];

/**
 * Parses a Keras 2 Sequential model_config (object or JSON string) into a
 * ModelSpec. Throws a one-line Error naming the first layer or setting
 * Handscan cannot run (Handscan's conv is 'same', stride 1, square and odd;
 * its pooling is 2×2 stride 2 'same').
 */
export function parseKerasModelConfig(config: unknown): ModelSpec {
  const layers: LayerSpec[] = [];
  let inputShape: unknown;
  for (const [i, { class_name: kind, config: c }] of kerasConfigLayers(config).entries()) {
    const where = `model_config: layer ${i + 1} '${c.name}' (${kind})`;
    const fail = (why: string): never => {
      throw new Error(`${where}: ${why}`);
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
    if (c.batch_input_shape !== undefined) {
      if (i > 0) fail('batch_input_shape on a layer other than the first');
      inputShape = c.batch_input_shape;
    }
    expect('data_format', 'channels_last');
    switch (kind) {
      case 'InputLayer':
        if (i > 0) fail('an InputLayer must come first');
        break;
      case 'Conv2D': {
        const k = c.kernel_size as number[];
        if (!Array.isArray(k) || k.length !== 2 || k[0] !== k[1] || !Number.isInteger(k[0]) || k[0] % 2 !== 1) fail(`kernel_size ${JSON.stringify(k)} is not supported, only square odd sizes`);
        expect('padding', 'same');
        expect('strides', [1, 1]);
        expect('dilation_rate', [1, 1]);
        expect('groups', 1);
        expect('use_bias', true);
        layers.push({ type: 'conv2d', filters: positive('filters'), kernelSize: k[0], activation: activation() });
        break;
      }
      case 'MaxPooling2D':
        expect('pool_size', [2, 2]);
        expect('strides', [2, 2]);
        expect('padding', 'same');
        layers.push({ type: 'maxpool2d' });
        break;
      case 'Flatten':
        layers.push({ type: 'flatten' });
        break;
      case 'Dense':
        expect('use_bias', true);
        layers.push({ type: 'dense', units: positive('units'), activation: activation() });
        break;
      case 'LeakyReLU': {
        // Keras 3 renamed alpha to negative_slope.
        const alpha = c.alpha ?? c.negative_slope ?? 0.3;
        if (typeof alpha !== 'number' || !(alpha >= 0)) fail(`alpha ${JSON.stringify(alpha)} is not a non-negative number`);
        layers.push({ type: 'leakyrelu', alpha: alpha as number });
        break;
      }
      case 'ReLU': {
        expect('max_value', null, 'null');
        expect('threshold', 0);
        const slope = c.negative_slope ?? 0;
        layers.push(slope === 0 ? { type: 'relu' } : { type: 'leakyrelu', alpha: slope as number });
        break;
      }
      case 'Activation': {
        const a = activation();
        if (a !== 'linear') layers.push({ type: a });
        break;
      }
      case 'Softmax':
        expect('axis', -1);
        layers.push({ type: 'softmax' });
        break;
      case 'Dropout': {
        const rate = c.rate;
        if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) fail(`rate ${JSON.stringify(rate)} is not in [0, 1)`);
        expect('noise_shape', null, 'null');
        layers.push({ type: 'dropout', rate: rate as number });
        break;
      }
      default:
        fail('is not supported: Handscan runs Conv2D, MaxPooling2D, Flatten, Dense, LeakyReLU, ReLU, Activation, Softmax and Dropout');
    }
  }
  const shape = inputShape as unknown[];
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.slice(1).every((d) => Number.isInteger(d) && (d as number) > 0)) {
    throw new Error(`model_config: the first layer needs batch_input_shape [null, H, W, C], found ${JSON.stringify(inputShape ?? null)}`);
  }
  return { inputShape: shape.slice(1) as [number, number, number], layers };
}
