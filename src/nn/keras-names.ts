// Keras's class name for each spec layer type and the automatic layer names
// Keras 2 gives a model's layers (conv2d_1, max_pooling2d_1, ...):
// the one table Model's build and the model_config writer share.
import type { LayerSpec } from './spec.ts';

export const KERAS_CLASS: Record<LayerSpec['type'], [className: string, prefix: string]> = {
  conv2d: ['Conv2D', 'conv2d'],
  maxpool2d: ['MaxPooling2D', 'max_pooling2d'],
  avgpool2d: ['AveragePooling2D', 'average_pooling2d'],
  flatten: ['Flatten', 'flatten'],
  reshape: ['Reshape', 'reshape'],
  dense: ['Dense', 'dense'],
  relu: ['ReLU', 're_lu'],
  leakyrelu: ['LeakyReLU', 'leaky_re_lu'],
  dropout: ['Dropout', 'dropout'],
  activation: ['Activation', 'activation'],
  batchnorm: ['BatchNormalization', 'batch_normalization'],
  concat: ['Concatenate', 'concatenate'],
  add: ['Add', 'add'],
};

/** Each layer's name: the spec's own where it has one, else Keras 2's automatic `${prefix}_${count}`. */
export function kerasLayerNames(spec: { layers: readonly LayerSpec[] }): string[] {
  const counts = new Map<string, number>();
  return spec.layers.map((l) => {
    const prefix = KERAS_CLASS[l.type][1];
    counts.set(prefix, (counts.get(prefix) ?? 0) + 1);
    return l.name ?? `${prefix}_${counts.get(prefix)}`;
  });
}
