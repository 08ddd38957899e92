// A stack of layers built from a ModelSpec on one backend, after Keras's
// Sequential: the chain graph of model.ts's Model (named layers, parameter
// count, summary, forward, loss, predict), with the spec it was built from.
import type { Backend, LossName, Tensor } from '../kernels/backend.ts';
import type { Layer } from './layers.ts';
import { DEFAULT_LOSS, graphOf, Model } from './model.ts';
import { isGraph, type Architecture, type ModelSpec } from './spec.ts';

export { DEFAULT_LOSS, type LayerWeights } from './model.ts';

export class Sequential<T extends Tensor> extends Model<T> {
  /** A chain holds layers of one input only. */
  declare readonly layers: Layer<T>[];

  private constructor(
    readonly spec: ModelSpec,
    backend: Backend<T>,
    seed: number,
    lossName: LossName,
  ) {
    const graph = graphOf(spec);
    super(graph, backend, Model.built(graph, backend, seed), lossName);
  }

  override get architecture(): ModelSpec {
    return this.spec;
  }

  /**
   * Builds the spec's layers on `backend` with Glorot-uniform kernels drawn
   * from `seed`, named as the spec names them or else as Keras 2 does
   * (kerasLayerNames: conv2d_1, max_pooling2d_1, ...). A layer's activation
   * argument becomes a layer of its own, as on the tape; a softmax or sigmoid
   * that ends the network is its output head, fused into the loss.
   */
  static build<T extends Tensor>(spec: ModelSpec, backend: Backend<T>, seed: number, lossName: LossName = DEFAULT_LOSS): Sequential<T> {
    return new Sequential(spec, backend, seed, lossName);
  }
}

/** A model of either architecture: a chain as Sequential, any other graph as Model. */
export function buildModel<T extends Tensor>(architecture: Architecture, backend: Backend<T>, seed: number, lossName: LossName = DEFAULT_LOSS): Model<T> {
  return isGraph(architecture) ? Model.fromGraph(architecture, backend, seed, lossName) : Sequential.build(architecture, backend, seed, lossName);
}
