// A Handscan model as an ONNX graph that ONNX Runtime computes exactly as
// Handscan does: one node per layer (a conv's or dense layer's activation a
// node of its own, named `<layer>/<activation>` as Sequential names it), the
// output head included, so that the graph gives probabilities. Activations
// stay in the input's layout until an op needs the other: ONNX's Conv, pools
// and BatchNormalization take N×C×H×W, and Flatten must see N×H×W×C to
// order its features as Keras does; a Transpose goes in between. Pure: spec
// and weights in, bytes out.
import { window2d } from '../kernels/shapes.ts';
import { kerasLayerNames } from '../nn/keras-names.ts';
import type { LayerWeights } from '../nn/sequential.ts';
import type { Activation, ModelSpec } from '../nn/spec.ts';
import { KERNEL_TO_ONNX, onnxPads, permute, TO_NCHW, TO_NHWC, type Layout } from './onnx-layout.ts';
import { attributes, encodeModel, floatTensor, irVersionFor, METADATA, onnx, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx-proto.ts';

export const INPUT_NAME = 'image';
export const OUTPUT_NAME = 'probabilities';
/** The dynamic batch axis's name in the input's and output's shapes. */
const BATCH = 'batch';

export interface ExportOptions {
  /** The input's layout (N×H×W×C, Handscan's own, or N×C×H×W). */
  layout: Layout;
  opset: number;
  /** The step that makes the model's input, recorded in metadata_props. */
  preprocess: string;
  /** The probabilities' names, as predict's columns (['p_real'] for a sigmoid head). */
  classes: readonly string[];
}

const OPS: Record<Exclude<Activation, 'linear'>, string> = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', softmax: 'Softmax' };

function valueInfo(name: string, dims: readonly number[]): OnnxValueInfo {
  const dim = [{ dimParam: BATCH }, ...dims.map((d) => ({ dimValue: d }))];
  return { name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } } };
}

/**
 * The ONNX model of `spec` with `weights` (Sequential.getWeights: by the
 * spec's layer names, Keras's layouts). Throws when a weight is missing or
 * the spec does not end in a softmax or sigmoid.
 */
export function exportOnnx(spec: ModelSpec, weights: readonly LayerWeights[], o: ExportOptions): Uint8Array {
  const names = kerasLayerNames(spec);
  const byLayer = new Map(weights.map((l) => [l.name, l.weights]));
  const nodes: OnnxNode[] = [];
  const initializer: OnnxTensor[] = [];
  let current = INPUT_NAME;
  let layout = o.layout;
  // Handscan's shape of the activation, without the batch: [H, W, C], or [features] after a Flatten.
  let shape: number[] = [...spec.inputShape];

  const node = (opType: string, name: string, extra: string[] = [], attrs: Parameters<typeof attributes>[0] = {}) => {
    nodes.push({ name, opType, input: [current, ...extra], output: [name], attribute: attributes(attrs) });
    current = name;
  };
  const weight = (layer: string, name: string) => byLayer.get(layer)?.find((w) => w.name === name);
  const stored = (layer: string, name: string, dims: readonly number[], values: ArrayLike<number>) => {
    initializer.push(floatTensor(`${layer}/${name}`, dims, values));
    return `${layer}/${name}`;
  };
  /** An image's layout as the next op needs it; flat activations have none. */
  const toLayout = (wanted: Layout, before: string) => {
    if (shape.length !== 3 || layout === wanted) return;
    node('Transpose', `${before}/to_${wanted}`, [], { perm: wanted === 'nchw' ? TO_NCHW : TO_NHWC });
    layout = wanted;
  };
  // Softmax runs along the channels: the last axis, or axis 1 of an N×C×H×W image.
  const channelAxis = () => (shape.length === 3 && layout === 'nhwc' ? 3 : 1);
  const activate = (a: Activation, name: string) => {
    if (a !== 'linear') node(OPS[a], name, [], a === 'softmax' ? { axis: channelAxis() } : {});
  };

  spec.layers.forEach((s, i) => {
    const n = names[i];
    const need = (w: string) => weight(n, w) ?? fail(`layer '${n}' has no '${w}' weight`);
    switch (s.type) {
      case 'conv2d': {
        toLayout('nchw', n);
        const [H, W, C] = shape;
        const win = window2d(n, H, W, s.kernelSize, s);
        const kernelShape = [s.kernelSize[0], s.kernelSize[1], C, s.filters];
        const inputs = [stored(n, 'kernel', KERNEL_TO_ONNX.map((p) => kernelShape[p]), permute(need('kernel').values, kernelShape, KERNEL_TO_ONNX))];
        if (s.useBias) inputs.push(stored(n, 'bias', [s.filters], need('bias').values));
        node('Conv', n, inputs, { kernel_shape: s.kernelSize, strides: s.strides, pads: onnxPads(win) });
        shape = [win.Ho, win.Wo, s.filters];
        activate(s.activation, `${n}/${s.activation}`);
        break;
      }
      case 'maxpool2d':
      case 'avgpool2d': {
        toLayout('nchw', n);
        const [H, W, C] = shape;
        const win = window2d(n, H, W, s.poolSize, s);
        const attrs = { kernel_shape: s.poolSize, strides: s.strides, pads: onnxPads(win) };
        // TF's 'same' averages over the cells inside the image only.
        if (s.type === 'maxpool2d') node('MaxPool', n, [], attrs);
        else node('AveragePool', n, [], { ...attrs, count_include_pad: 0 });
        shape = [win.Ho, win.Wo, C];
        break;
      }
      case 'batchnorm': {
        toLayout('nchw', n);
        const C = shape[shape.length - 1];
        // Without scale (center) Keras has no gamma (beta): ONNX takes ones (zeros).
        const gamma = s.scale ? need('gamma').values : new Float32Array(C).fill(1);
        const beta = s.center ? need('beta').values : new Float32Array(C);
        const inputs = [stored(n, 'gamma', [C], gamma), stored(n, 'beta', [C], beta), stored(n, 'moving_mean', [C], need('moving_mean').values), stored(n, 'moving_variance', [C], need('moving_variance').values)];
        node('BatchNormalization', n, inputs, { epsilon: { f: s.epsilon }, momentum: { f: s.momentum } });
        break;
      }
      case 'flatten':
        toLayout('nhwc', n);
        node('Flatten', n, [], { axis: 1 });
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case 'dense': {
        const inputs = [stored(n, 'kernel', [shape[0], s.units], need('kernel').values)];
        if (s.useBias) inputs.push(stored(n, 'bias', [s.units], need('bias').values));
        node('Gemm', n, inputs);
        shape = [s.units];
        activate(s.activation, `${n}/${s.activation}`);
        break;
      }
      case 'relu':
        node('Relu', n);
        break;
      case 'leakyrelu':
        node('LeakyRelu', n, [], { alpha: { f: s.alpha } });
        break;
      case 'dropout':
        // Kept for fine-tuning after an import; ONNX Runtime runs it as the identity.
        node('Dropout', n, [stored(n, 'ratio', [], [s.rate])]);
        break;
      case 'activation':
        activate(s.activation, n);
        break;
    }
  });
  const last = nodes.at(-1);
  if (!last || (last.opType !== 'Softmax' && last.opType !== 'Sigmoid') || shape.length !== 1) fail('the model must end in a softmax or sigmoid over N×classes');
  last!.output = [OUTPUT_NAME];
  const inputDims = o.layout === 'nhwc' ? spec.inputShape : [spec.inputShape[2], spec.inputShape[0], spec.inputShape[1]];
  return encodeModel({
    irVersion: irVersionFor(o.opset),
    opsetImport: [{ domain: '', version: o.opset }],
    producerName: 'handscan',
    graph: { name: 'handscan', node: nodes, initializer, input: [valueInfo(INPUT_NAME, inputDims)], output: [valueInfo(OUTPUT_NAME, shape)] },
    metadataProps: [
      { key: METADATA.preprocess, value: o.preprocess },
      { key: METADATA.classes, value: o.classes.join(',') },
      { key: METADATA.layout, value: o.layout },
    ],
  });
}

function fail(why: string): never {
  throw new Error(`ONNX export: ${why}`);
}
