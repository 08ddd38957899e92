// A network as plain data: what models.ts defines, what a Keras
// `model_config` parses into (keras-config.ts), and what Sequential builds.
// Shapes are channels last; sizes are [height, width].
import type { Padding } from '../kernels/backend.ts';

export type Activation = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'softmax';
export const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'];

export type Pair = readonly [number, number];

/** Keras's layer name, when the model came from a file that chose one (braai's 'conv1', 'fc_out'); else Keras 2's automatic name. */
interface Named {
  name?: string;
}

export type LayerSpec = Named &
  (
    | { type: 'conv2d'; filters: number; kernelSize: Pair; strides: Pair; padding: Padding; useBias: boolean; activation: Activation }
    | { type: 'maxpool2d' | 'avgpool2d'; poolSize: Pair; strides: Pair; padding: Padding }
    | { type: 'flatten' }
    /** Keras's Reshape, channels last: a flat N×K to an image N×H×W×C (K = H·W·C), or an image to N×K. */
    | { type: 'reshape'; targetShape: number[] }
    | { type: 'dense'; units: number; useBias: boolean; activation: Activation }
    | { type: 'relu' }
    | { type: 'leakyrelu'; alpha: number }
    | { type: 'dropout'; rate: number }
    | { type: 'activation'; activation: Activation }
    /** BatchNormalization over the last axis; without `center` there is no beta, without `scale` no gamma. */
    | { type: 'batchnorm'; momentum: number; epsilon: number; center: boolean; scale: boolean }
    /** Two or more inputs side by side along the last axis (Keras's Concatenate), or summed (Add): graph nodes only. */
    | { type: 'concat' | 'add' }
  );

export interface ModelSpec {
  /** Input image H×W×C (channels last). */
  inputShape: [number, number, number];
  layers: LayerSpec[];
}

/** A named input of a graph: an image H×W×C, or a vector of K features. */
export interface GraphInput {
  name: string;
  shape: number[];
}

/** A layer and the names of what it reads: graph inputs or earlier nodes (a node is named as its layer, Keras's automatic name where it has none). */
export interface GraphNode {
  layer: LayerSpec;
  inputs: string[];
}

/**
 * A DAG of layers (Keras's functional Model): nodes in topological order,
 * the last one the output head. A ModelSpec is a chain of one (model.ts's graphOf).
 */
export interface GraphSpec {
  inputs: GraphInput[];
  nodes: GraphNode[];
}

/** A model's architecture as a file or a command gives it: a chain (what Sequential builds), or any graph. */
export type Architecture = ModelSpec | GraphSpec;

export const isGraph = (a: Architecture): a is GraphSpec => 'nodes' in a;

/** Keras's Conv2D defaults but for the filters and kernel: stride 1, 'valid', a bias, no activation. */
export const conv2d = (filters: number, k: number, rest: Partial<Extract<LayerSpec, { type: 'conv2d' }>> = {}): LayerSpec => ({
  type: 'conv2d',
  filters,
  kernelSize: [k, k],
  strides: [1, 1],
  padding: 'valid',
  useBias: true,
  activation: 'linear',
  ...rest,
});

/** Keras's MaxPooling2D: strides default to the pool size, 'valid'. */
export const maxPool2d = (k: number, padding: Padding = 'valid'): LayerSpec => ({ type: 'maxpool2d', poolSize: [k, k], strides: [k, k], padding });

export const dense = (units: number, activation: Activation = 'linear'): LayerSpec => ({ type: 'dense', units, useBias: true, activation });
