// The model in a checkpoint's contents (a Keras 2 or Handscan weight file, as
// src/io/keras-hdf5-layout.ts reads it, or an ONNX graph): the architecture
// of its model_config (a Sequential chain, or a functional graph), else one
// of the paper's networks with as many classes as the file's last layer has
// units. Pure, so that the commands (src/train/checkpoint.ts) and the browser
// page (web/score.ts) build the same model from the same file.
import type { Backend, Tensor } from '../kernels/backend.ts';
import { parseKerasArchitecture } from './keras-config.ts';
import { chainOf, type Model } from './model.ts';
import { buildModel, type LayerWeights } from './sequential.ts';
import { isGraph, type Architecture, type GraphSpec, type ModelSpec } from './spec.ts';

export interface CheckpointModel {
  /** The file's architecture when it is a chain (Sequential). */
  spec: ModelSpec | null;
  /** The file's architecture when it is any other graph (several inputs, branches, merges); null when `spec` is given or the file has none. */
  graph: GraphSpec | null;
  /** Only the layers that have weights, in model order. */
  weights: LayerWeights[];
}

/** A CheckpointModel of an architecture read from a file: a chain goes to `spec`, any other graph to `graph`. */
export function checkpointArchitecture(graph: GraphSpec): Pick<CheckpointModel, 'spec' | 'graph'> {
  const spec = chainOf(graph);
  return { spec, graph: spec ? null : graph };
}

/** The model part of a weight file: its layers (weightless ones included) and parsed model_config, when it has one. */
export function checkpointModel(file: { layers: readonly LayerWeights[]; modelConfig?: unknown }): CheckpointModel {
  const weights = file.layers.filter((l) => l.weights.length > 0);
  if (file.modelConfig === undefined) return { spec: null, graph: null, weights };
  const architecture = parseKerasArchitecture(file.modelConfig);
  return isGraph(architecture) ? { ...checkpointArchitecture(architecture), weights } : { spec: architecture, graph: null, weights };
}

/** The architecture a checkpoint builds: its own, else `fallback` for as many classes as its last layer has outputs. */
export function architectureOf(ckpt: CheckpointModel, fallback: (classes: number) => ModelSpec): Architecture {
  const last = ckpt.weights.at(-1)?.weights.find((w) => w.name === 'kernel' || w.name === 'bias');
  if (!last) throw new Error('no layer with weights');
  return ckpt.graph ?? ckpt.spec ?? fallback(last.shape[last.shape.length - 1]);
}

/**
 * A model on `backend` with the checkpoint's weights (architectureOf).
 * Errors are one line, without the file's name.
 */
export function buildCheckpointModel<T extends Tensor>(ckpt: CheckpointModel, backend: Backend<T>, fallback: (classes: number) => ModelSpec): Model<T> {
  const model = buildModel(architectureOf(ckpt, fallback), backend, 0);
  model.setWeights(ckpt.weights);
  return model;
}
