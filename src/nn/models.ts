// The built-in networks, as specs: the paper's two (Negm 2021; 1,420,738
// parameters each with 2 classes at 69×69×3) and
// ZTF's braai VGG6 (Duev et al. 2019; models/d6_m7.architecture.json in
// github.com/dmitryduev/braai). Each takes its input shape from the data.
import { conv2d, dense, maxPool2d, type LayerSpec, type ModelSpec } from './spec.ts';

export type ModelName = 'initial' | 'tuned' | 'braai';
export const MODEL_NAMES: readonly ModelName[] = ['initial', 'tuned', 'braai'];

/** The paper's cutouts and braai's: the shapes the built-in models are defined at. */
export const PAPER_INPUT: [number, number, number] = [69, 69, 3];
export const BRAAI_INPUT: [number, number, number] = [63, 63, 3];

const sameConv = (filters: number, activation: 'relu' | 'linear') => conv2d(filters, 3, { padding: 'same', activation });
const samePool = maxPool2d(2, 'same');

/** Initial model: three conv/pool blocks with ReLU, Dense 128 ReLU, Dense softmax. */
export function initialModel(classes = 2, inputShape = PAPER_INPUT): ModelSpec {
  return {
    inputShape,
    layers: [sameConv(32, 'relu'), samePool, sameConv(64, 'relu'), samePool, sameConv(128, 'relu'), samePool, { type: 'flatten' }, dense(128, 'relu'), dense(classes, 'softmax')],
  };
}

/**
 * Tuned model: LeakyReLU(0.1) after each conv and Dense 128 (the first conv
 * also keeps activation='relu', as in the notebook), and dropout 0.25, 0.25,
 * 0.4 after the pools and 0.3 after Dense 128.
 */
export function tunedModel(classes = 2, inputShape = PAPER_INPUT): ModelSpec {
  const leaky: LayerSpec = { type: 'leakyrelu', alpha: 0.1 };
  const drop = (rate: number): LayerSpec => ({ type: 'dropout', rate });
  return {
    inputShape,
    layers: [
      ...[sameConv(32, 'relu'), leaky, samePool, drop(0.25)],
      ...[sameConv(64, 'linear'), leaky, samePool, drop(0.25)],
      ...[sameConv(128, 'linear'), leaky, samePool, drop(0.4)],
      { type: 'flatten' },
      ...[dense(128), leaky, drop(0.3)],
      dense(classes, 'softmax'),
    ],
  };
}

/**
 * braai's VGG6: two 'valid' 3×3 ReLU convs of 16, 2×2 pool, dropout 0.25,
 * two of 32, 4×4 pool, dropout 0.25, Dense 256 ReLU, dropout 0.5, and one
 * sigmoid unit (p_real), with braai's layer names.
 */
export function braaiModel(inputShape = BRAAI_INPUT): ModelSpec {
  const relu = { activation: 'relu' } as const;
  return {
    inputShape,
    layers: [
      { ...conv2d(16, 3, relu), name: 'conv1' },
      { ...conv2d(16, 3, relu), name: 'conv2' },
      { ...maxPool2d(2), name: 'max_pooling2d' },
      { type: 'dropout', rate: 0.25, name: 'dropout' },
      { ...conv2d(32, 3, relu), name: 'conv3' },
      { ...conv2d(32, 3, relu), name: 'conv4' },
      { ...maxPool2d(4), name: 'max_pooling2d_1' },
      { type: 'dropout', rate: 0.25, name: 'dropout_1' },
      { type: 'flatten', name: 'flatten' },
      { ...dense(256, 'relu'), name: 'fc_1' },
      { type: 'dropout', rate: 0.5, name: 'dropout_2' },
      { ...dense(1, 'sigmoid'), name: 'fc_out' },
    ],
  };
}

/** A built-in model for `classes` outputs at `inputShape` (braai always has one sigmoid output). */
export function modelSpec(name: ModelName, classes = 2, inputShape?: [number, number, number]): ModelSpec {
  if (name === 'braai') return braaiModel(inputShape);
  return name === 'initial' ? initialModel(classes, inputShape) : tunedModel(classes, inputShape);
}
