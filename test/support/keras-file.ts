// Keras 2 weight files made the way Keras and h5py make them, for tests of
// the readers (src/io/keras-hdf5.ts, predict, evaluate).
import h5wasm, { Group } from 'h5wasm/node';
import { sizeOf } from '../../src/kernels/backend.ts';
import { cpuBackend } from '../../src/kernels/cpu-backend.ts';
import { kerasLayerNames } from '../../src/nn/keras-names.ts';
import { initialModel } from '../../src/nn/models.ts';
import { Sequential, type LayerWeights } from '../../src/nn/sequential.ts';
import type { ModelSpec } from '../../src/nn/spec.ts';

await h5wasm.ready;

export function randomValues(count: number, random: () => number): Float32Array {
  return Float32Array.from({ length: count }, () => (random() < 0.5 ? -1 : 1) * (0.01 + random()));
}

/** Random values for every weight of the spec's model (Keras layouts and order), under `names`, one entry per spec layer. */
export function randomWeights(spec: ModelSpec, names: string[], random: () => number): LayerWeights[] {
  const model = Sequential.build(spec, cpuBackend, 0);
  const own = kerasLayerNames(spec);
  return own.map((name, i) => ({
    name: names[i],
    weights: (model.layers.find((l) => l.name === name)?.weights ?? []).map((w) => ({ name: w.name, shape: [...w.value.shape], values: randomValues(sizeOf(w.value.shape), random) })),
  }));
}

/** The initial model's config as tf.keras 2.x writes it: an InputLayer, GlorotUniform, names without a _1 on the first of a kind. */
export function tfKerasConfig(names: string[]): object {
  const spec = initialModel(2);
  const layers: object[] = [{ class_name: 'InputLayer', config: { batch_input_shape: [null, 69, 69, 3], dtype: 'float32', sparse: false, ragged: false, name: 'conv2d_input' } }];
  spec.layers.forEach((l, i) => {
    const base = { name: names[i], trainable: true, dtype: 'float32' };
    const init = { kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } }, bias_initializer: { class_name: 'Zeros', config: {} }, kernel_regularizer: null };
    if (l.type === 'conv2d') layers.push({ class_name: 'Conv2D', config: { ...base, filters: l.filters, kernel_size: [3, 3], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1], groups: 1, activation: l.activation, use_bias: true, ...init } });
    if (l.type === 'maxpool2d') layers.push({ class_name: 'MaxPooling2D', config: { ...base, pool_size: [2, 2], padding: 'same', strides: [2, 2], data_format: 'channels_last' } });
    if (l.type === 'flatten') layers.push({ class_name: 'Flatten', config: { ...base, data_format: 'channels_last' } });
    if (l.type === 'dense') layers.push({ class_name: 'Dense', config: { ...base, units: l.units, activation: l.activation, use_bias: true, ...init } });
  });
  return { class_name: 'Sequential', config: { name: 'sequential', layers } };
}

/**
 * Writes weights as Keras 2 does through h5py: byte-string attributes, an
 * empty float64 weight_names on weightless layers, datasets named by the
 * weight's full name ('conv2d/kernel:0' is a subgroup and a dataset), groups in
 * sorted order, and, for a full model, model_config, training_config and
 * optimizer_weights.
 */
export function writeAsKeras(path: string, layers: LayerWeights[], config?: object): void {
  const file = new h5wasm.File(path, 'w');
  const strings = (g: Group, name: string, values: string[]) => g.create_attribute(name, values, [values.length], `S${Math.max(...values.map((v) => v.length))}`);
  const string = (g: Group, name: string, value: string) => g.create_attribute(name, value, null, `S${value.length}`);
  let group: Group = file;
  if (config) {
    string(file, 'keras_version', '2.4.0');
    string(file, 'backend', 'tensorflow');
    string(file, 'model_config', JSON.stringify(config));
    string(file, 'training_config', JSON.stringify({ loss: 'binary_crossentropy', optimizer_config: { class_name: 'RMSprop' } }));
    group = file.create_group('model_weights');
  }
  strings(group, 'layer_names', layers.map((l) => l.name));
  string(group, 'backend', 'tensorflow');
  string(group, 'keras_version', '2.4.0');
  for (const layer of [...layers].sort((a, b) => a.name.localeCompare(b.name))) {
    const g = group.create_group(layer.name);
    if (layer.weights.length === 0) {
      g.create_attribute('weight_names', new Float64Array(0), [0]);
      continue;
    }
    strings(g, 'weight_names', layer.weights.map((w) => `${layer.name}/${w.name}:0`));
    const inner = g.create_group(layer.name);
    for (const w of layer.weights) inner.create_dataset({ name: `${w.name}:0`, data: w.values, shape: w.shape });
  }
  if (config) {
    const optimizer = file.create_group('optimizer_weights');
    strings(optimizer, 'weight_names', ['RMSprop/iter:0']);
    optimizer.create_group('RMSprop').create_dataset({ name: 'iter:0', data: new BigInt64Array([3n]) });
  }
  file.close();
}
