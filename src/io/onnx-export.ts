// A Handscan model (a chain, or a graph of several inputs) as an ONNX graph
// that ONNX Runtime computes exactly as Handscan does: one node per layer (a
// conv's or dense layer's activation a node of its own, named
// `<layer>/<activation>` as Model names it), the output head included, so
// that the graph gives probabilities. Each activation stays in its input's
// layout until an op needs the other (a Concat or Add takes its first
// input's): ONNX's Conv, pools and BatchNormalization take N×C×H×W, and
// Flatten must see N×H×W×C to order its features as Keras does; a Transpose
// goes in between. Pure: spec and weights in, bytes out.
import { window2d } from '../kernels/shapes.ts';
import { kerasLayerNames } from '../nn/keras-names.ts';
import type { LayerWeights } from '../nn/sequential.ts';
import { graphOf } from '../nn/model.ts';
import { isGraph, type Activation, type Architecture, type GraphSpec } from '../nn/spec.ts';
import { KERNEL_TO_ONNX, onnxPads, permute, TO_NCHW, TO_NHWC, type Layout } from './onnx-layout.ts';
import { attributes, encodeModel, floatTensor, int64Tensor, irVersionFor, METADATA, onnx, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx-proto.ts';

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
 * The ONNX model of an architecture with `weights` (Model.getWeights: by its
 * layer names, Keras's layouts): a chain's input named `image`, a graph's
 * as the graph names them. Throws when a weight is missing or the model
 * does not end in a softmax or sigmoid.
 */
export function exportOnnx(architecture: Architecture, weights: readonly LayerWeights[], o: ExportOptions): Uint8Array {
  return exportOnnxGraph(onnxGraphOf(architecture), weights, o);
}

/** The graph an architecture exports as: a chain's with its input named `image`. */
export const onnxGraphOf = (architecture: Architecture): GraphSpec => (isGraph(architecture) ? architecture : graphOf(architecture, INPUT_NAME));

/** Where a graph's value stands in the ONNX graph: its tensor's name, layout and Handscan's shape without the batch ([H, W, C], or [features]). */
interface Value {
  name: string;
  layout: Layout;
  shape: number[];
}

/** The ONNX model of a graph model (Model.getWeights's weights), its inputs named as the graph's; image inputs in `o.layout`. */
export function exportOnnxGraph(graph: GraphSpec, weights: readonly LayerWeights[], o: ExportOptions): Uint8Array {
  const names = kerasLayerNames({ layers: graph.nodes.map((n) => n.layer) });
  const byLayer = new Map(weights.map((l) => [l.name, l.weights]));
  const nodes: OnnxNode[] = [];
  const initializer: OnnxTensor[] = [];
  const values = new Map<string, Value>(graph.inputs.map((i) => [i.name, { name: i.name, layout: o.layout, shape: [...i.shape] }]));

  const node = (opType: string, name: string, inputs: string[], attrs: Parameters<typeof attributes>[0] = {}) => {
    nodes.push({ name, opType, input: inputs, output: [name], attribute: attributes(attrs) });
    return name;
  };
  const weight = (layer: string, name: string) => byLayer.get(layer)?.find((w) => w.name === name);
  const stored = (layer: string, name: string, dims: readonly number[], values: ArrayLike<number>) => {
    initializer.push(floatTensor(`${layer}/${name}`, dims, values));
    return `${layer}/${name}`;
  };
  /** An image in the layout the next op (`before`) needs; flat activations have none. */
  const inLayout = (v: Value, wanted: Layout, before: string): Value => {
    if (v.shape.length !== 3 || v.layout === wanted) return v;
    return { name: node('Transpose', `${before}/to_${wanted}`, [v.name], { perm: wanted === 'nchw' ? TO_NCHW : TO_NHWC }), layout: wanted, shape: v.shape };
  };
  // Softmax and Concat run along the channels: the last axis, or axis 1 of an N×C×H×W image.
  const channelAxis = (v: Value) => (v.shape.length === 3 && v.layout === 'nhwc' ? 3 : 1);
  const activate = (v: Value, a: Activation, name: string): Value => (a === 'linear' ? v : { ...v, name: node(OPS[a], name, [v.name], a === 'softmax' ? { axis: channelAxis(v) } : {}) });

  let out: Value | undefined;
  graph.nodes.forEach(({ layer: s, inputs }, i) => {
    const n = names[i];
    const need = (w: string) => weight(n, w) ?? fail(`layer '${n}' has no '${w}' weight`);
    const reads = inputs.map((name) => values.get(name) ?? fail(`layer '${n}' reads '${name}', which is neither an input nor an earlier layer`));
    let x = reads[0];
    const same = (opType: string, attrs: Parameters<typeof attributes>[0] = {}, extra: string[] = []): Value => ({ ...x, name: node(opType, n, [x.name, ...extra], attrs) });
    switch (s.type) {
      case 'conv2d': {
        x = inLayout(x, 'nchw', n);
        const [H, W, C] = x.shape;
        const win = window2d(n, H, W, s.kernelSize, s);
        const kernelShape = [s.kernelSize[0], s.kernelSize[1], C, s.filters];
        const extra = [stored(n, 'kernel', KERNEL_TO_ONNX.map((p) => kernelShape[p]), permute(need('kernel').values, kernelShape, KERNEL_TO_ONNX))];
        if (s.useBias) extra.push(stored(n, 'bias', [s.filters], need('bias').values));
        x = { ...same('Conv', { kernel_shape: s.kernelSize, strides: s.strides, pads: onnxPads(win) }, extra), shape: [win.Ho, win.Wo, s.filters] };
        x = activate(x, s.activation, `${n}/${s.activation}`);
        break;
      }
      case 'maxpool2d':
      case 'avgpool2d': {
        x = inLayout(x, 'nchw', n);
        const [H, W, C] = x.shape;
        const win = window2d(n, H, W, s.poolSize, s);
        const attrs = { kernel_shape: s.poolSize, strides: s.strides, pads: onnxPads(win) };
        // TF's 'same' averages over the cells inside the image only.
        x = { ...(s.type === 'maxpool2d' ? same('MaxPool', attrs) : same('AveragePool', { ...attrs, count_include_pad: 0 })), shape: [win.Ho, win.Wo, C] };
        break;
      }
      case 'batchnorm': {
        x = inLayout(x, 'nchw', n);
        const C = x.shape[x.shape.length - 1];
        // Without scale (center) Keras has no gamma (beta): ONNX takes ones (zeros).
        const gamma = s.scale ? need('gamma').values : new Float32Array(C).fill(1);
        const beta = s.center ? need('beta').values : new Float32Array(C);
        const extra = [stored(n, 'gamma', [C], gamma), stored(n, 'beta', [C], beta), stored(n, 'moving_mean', [C], need('moving_mean').values), stored(n, 'moving_variance', [C], need('moving_variance').values)];
        x = same('BatchNormalization', { epsilon: { f: s.epsilon }, momentum: { f: s.momentum } }, extra);
        break;
      }
      case 'flatten':
        x = inLayout(x, 'nhwc', n);
        x = { ...same('Flatten', { axis: 1 }), shape: [x.shape.reduce((a, b) => a * b, 1)] };
        break;
      case 'reshape': {
        // Keras reshapes in channels-last order: an image first goes back to N×H×W×C, and an image made is N×H×W×C.
        x = inLayout(x, 'nhwc', n);
        initializer.push(int64Tensor(`${n}/shape`, [-1, ...s.targetShape]));
        x = { ...same('Reshape', {}, [`${n}/shape`]), layout: 'nhwc', shape: [...s.targetShape] };
        break;
      }
      case 'dense': {
        const extra = [stored(n, 'kernel', [x.shape[0], s.units], need('kernel').values)];
        if (s.useBias) extra.push(stored(n, 'bias', [s.units], need('bias').values));
        x = { ...same('Gemm', {}, extra), shape: [s.units] };
        x = activate(x, s.activation, `${n}/${s.activation}`);
        break;
      }
      case 'relu':
        x = same('Relu');
        break;
      case 'leakyrelu':
        x = same('LeakyRelu', { alpha: { f: s.alpha } });
        break;
      case 'dropout':
        // Kept for fine-tuning after an import; ONNX Runtime runs it as the identity.
        x = same('Dropout', {}, [stored(n, 'ratio', [], [s.rate])]);
        break;
      case 'activation':
        x = activate(x, s.activation, n);
        break;
      case 'concat':
      case 'add': {
        // Every input in the first one's layout (each Transpose named for its input).
        const all = reads.map((v, k) => inLayout(v, x.layout, `${n}/${k}`));
        const width = all.reduce((w, v) => w + v.shape[v.shape.length - 1], 0);
        x = s.type === 'add' ? { ...x, name: node('Add', n, all.map((v) => v.name)) } : { ...x, name: node('Concat', n, all.map((v) => v.name), { axis: channelAxis(x) }), shape: [...x.shape.slice(0, -1), width] };
        break;
      }
    }
    values.set(n, x);
    out = x;
  });
  const last = nodes.at(-1);
  if (!out || !last || last.output?.[0] !== out.name || (last.opType !== 'Softmax' && last.opType !== 'Sigmoid') || out.shape.length !== 1) fail('the model must end in a softmax or sigmoid over N×classes');
  last!.output = [OUTPUT_NAME];
  const inputDims = (shape: readonly number[]) => (shape.length === 3 && o.layout === 'nchw' ? [shape[2], shape[0], shape[1]] : shape);
  return encodeModel({
    irVersion: irVersionFor(o.opset),
    opsetImport: [{ domain: '', version: o.opset }],
    producerName: 'handscan',
    graph: { name: 'handscan', node: nodes, initializer, input: graph.inputs.map((i) => valueInfo(i.name, inputDims(i.shape))), output: [valueInfo(OUTPUT_NAME, out!.shape)] },
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
