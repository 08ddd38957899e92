// A network as plain data: what models.ts defines, what a Keras
// `model_config` parses into, and what Sequential builds.

export type Activation = 'linear' | 'relu' | 'softmax' | 'sigmoid';

export type LayerSpec =
  | { type: 'conv2d'; filters: number; kernelSize: number; activation: Activation }
  | { type: 'maxpool2d' }
  | { type: 'flatten' }
  | { type: 'dense'; units: number; activation: Activation }
  | { type: 'relu' }
  | { type: 'leakyrelu'; alpha: number }
  | { type: 'dropout'; rate: number }
  | { type: 'softmax' }
  | { type: 'sigmoid' };

export interface ModelSpec {
  /** Input image H×W×C (channels last). */
  inputShape: [number, number, number];
  layers: LayerSpec[];
}
