// The paper's two networks (REFERENCE.md), as specs. Both have 1,420,738
// parameters with 2 classes.
import type { ModelSpec } from './spec.ts';

export type ModelName = 'initial' | 'tuned';
export const MODEL_NAMES: readonly ModelName[] = ['initial', 'tuned'];

/** Initial model: three conv/pool blocks with ReLU, Dense 128 ReLU, Dense softmax. */
export function initialModel(classes = 2): ModelSpec {
  return {
    inputShape: [69, 69, 3],
    layers: [
      { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
      { type: 'maxpool2d' },
      { type: 'conv2d', filters: 64, kernelSize: 3, activation: 'relu' },
      { type: 'maxpool2d' },
      { type: 'conv2d', filters: 128, kernelSize: 3, activation: 'relu' },
      { type: 'maxpool2d' },
      { type: 'flatten' },
      { type: 'dense', units: 128, activation: 'relu' },
      { type: 'dense', units: classes, activation: 'softmax' },
    ],
  };
}

/**
 * Tuned model: LeakyReLU(0.1) after each conv and Dense 128 (the first conv
 * also keeps activation='relu', as in the notebook), and dropout 0.25, 0.25,
 * 0.4 after the pools and 0.3 after Dense 128.
 */
export function tunedModel(classes = 2): ModelSpec {
  return {
    inputShape: [69, 69, 3],
    layers: [
      { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
      { type: 'leakyrelu', alpha: 0.1 },
      { type: 'maxpool2d' },
      { type: 'dropout', rate: 0.25 },
      { type: 'conv2d', filters: 64, kernelSize: 3, activation: 'linear' },
      { type: 'leakyrelu', alpha: 0.1 },
      { type: 'maxpool2d' },
      { type: 'dropout', rate: 0.25 },
      { type: 'conv2d', filters: 128, kernelSize: 3, activation: 'linear' },
      { type: 'leakyrelu', alpha: 0.1 },
      { type: 'maxpool2d' },
      { type: 'dropout', rate: 0.4 },
      { type: 'flatten' },
      { type: 'dense', units: 128, activation: 'linear' },
      { type: 'leakyrelu', alpha: 0.1 },
      { type: 'dropout', rate: 0.3 },
      { type: 'dense', units: classes, activation: 'softmax' },
    ],
  };
}

export function modelSpec(name: ModelName, classes = 2): ModelSpec {
  return name === 'initial' ? initialModel(classes) : tunedModel(classes);
}
