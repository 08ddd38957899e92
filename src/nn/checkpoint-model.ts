// The model in a checkpoint's contents (a Keras 2 or Handscan weight file, as
// src/io/keras-hdf5-layout.ts reads it): the architecture of its
// model_config, else one of the paper's networks with as many classes as the
// file's last layer has units. Pure, so that `predict` and `evaluate`
// (src/train/checkpoint.ts) and the browser page (web/score.ts) build the same
// model from the same file.
import type { Backend, Tensor } from '../kernels/backend.ts';
import { parseKerasModelConfig } from './keras-config.ts';
import { Sequential, type LayerWeights } from './sequential.ts';
import type { ModelSpec } from './spec.ts';

export interface CheckpointModel {
  /** From the file's model_config, when it has one. */
  spec: ModelSpec | null;
  /** Only the layers that have weights, in model order. */
  weights: LayerWeights[];
}

/** The model part of a weight file: its layers (weightless ones included) and parsed model_config, when it has one. */
export function checkpointModel(file: { layers: readonly LayerWeights[]; modelConfig?: unknown }): CheckpointModel {
  return {
    spec: file.modelConfig === undefined ? null : parseKerasModelConfig(file.modelConfig),
    weights: file.layers.filter((l) => l.weights.length > 0),
  };
}

/**
 * A model on `backend` with the checkpoint's weights: the architecture from
 * its model_config when it has one, else `fallback` for as many classes as
 * the last layer has outputs. Errors are one line, without the file's name.
 */
export function buildCheckpointModel<T extends Tensor>(ckpt: CheckpointModel, backend: Backend<T>, fallback: (classes: number) => ModelSpec): Sequential<T> {
  const last = ckpt.weights.at(-1)?.weights.find((w) => w.name === 'kernel' || w.name === 'bias');
  if (!last) throw new Error('no layer with weights');
  const model = Sequential.build(ckpt.spec ?? fallback(last.shape[last.shape.length - 1]), backend, 0);
  model.setWeights(ckpt.weights);
  return model;
}
