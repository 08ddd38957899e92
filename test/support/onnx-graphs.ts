// ONNX graphs as other tools write them, built node by node with onnx-proto's
// protobuf classes, random weights from a seed: tf2onnx's Keras conversions
// (an N×H×W×C input, Transposes around each channels-first op, biases as
// Add nodes, a Reshape for Flatten) and PyTorch's (N×C×H×W throughout, a
// Flatten in (c, h, w) order, Linear as Gemm with transB). ONNX Runtime is
// what they are checked against, so a fault in writing them shows there.
import { attributes, encodeModel, floatTensor, int64Tensor, onnx, type OnnxNode, type OnnxTensor } from '../../src/io/onnx-proto.ts';

type Attrs = Parameters<typeof attributes>[0];

/** Nodes from one input, each on the one before unless `on` names its inputs; constants are random unless given. */
export class GraphWriter {
  readonly nodes: OnnxNode[] = [];
  readonly initializer: OnnxTensor[] = [];
  private current: string;

  constructor(
    private readonly random: () => number,
    readonly input = 'input_1',
  ) {
    this.current = input;
  }

  /** A float32 constant: uniform in [lo, hi) unless `values` are given. */
  constant(name: string, dims: number[], lo = -0.5, hi = 0.5, values?: number[]): string {
    const count = dims.reduce((a, b) => a * b, 1);
    this.initializer.push(floatTensor(name, dims, values ?? Array.from({ length: count }, () => lo + (hi - lo) * this.random())));
    return name;
  }

  /** An int64 constant in raw_data, as tf2onnx stores a Reshape's shape. */
  int64(name: string, values: number[]): string {
    this.initializer.push(int64Tensor(name, values));
    return name;
  }

  node(opType: string, name: string, constants: string[] = [], attrs: Attrs = {}, domain?: string): this {
    return this.on([this.current], opType, name, constants, attrs, domain);
  }

  /** A node on named tensors (a branch, a merge): the chain goes on from its output. */
  on(inputs: string[], opType: string, name: string, constants: string[] = [], attrs: Attrs = {}, domain?: string): this {
    this.nodes.push({ name, opType, input: [...inputs, ...constants], output: [name], attribute: attributes(attrs), ...(domain ? { domain } : {}) });
    this.current = name;
    return this;
  }

  /** The model's bytes: the input with a symbolic batch axis, the last node's output as the graph's. */
  bytes(inputDims: number[], outputDims: number[], opset = 13, extraInputs: string[] = []): Uint8Array {
    return this.graph([[this.input, inputDims], ...extraInputs.map((n): [string, number[]] => [n, [4]])], outputDims, opset);
  }

  /** The model's bytes with these inputs (each with a symbolic batch axis), the last node's output as the graph's. */
  graph(inputs: [string, number[]][], outputDims: number[], opset = 13): Uint8Array {
    const info = (name: string, dims: number[]) => ({
      name,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'unk__0' }, ...dims.map((d) => ({ dimValue: d }))] } } },
    });
    return encodeModel({
      irVersion: 7,
      producerName: 'test',
      opsetImport: [{ domain: '', version: opset }],
      graph: { name: 'g', node: this.nodes, initializer: this.initializer, input: inputs.map(([n, d]) => info(n, d)), output: [info(this.current, outputDims)] },
    });
  }
}

const TO_NCHW = { perm: [0, 3, 1, 2] };
const TO_NHWC = { perm: [0, 2, 3, 1] };

/**
 * tf2onnx's conversion of a small Keras CNN on 12×12×3 (names as tf2onnx
 * gives them): conv 3×3 'same' + ReLU, batch normalisation, conv 3×3 stride
 * 2 'same' with its bias as an Add in N×H×W×C, LeakyReLU, 2×2 max pool,
 * Flatten as Reshape [-1, 54], Dense 8 ReLU as MatMul + Add, Dense 1 sigmoid.
 */
export function tf2onnxGraph(random: () => number): Uint8Array {
  const g = new GraphWriter(random);
  const s = 'StatefulPartitionedCall/sequential';
  g.node('Transpose', `${s}/conv2d/Conv2D__6`, [], TO_NCHW)
    .node('Conv', `${s}/conv2d/BiasAdd`, [g.constant('conv2d/kernel', [4, 3, 3, 3]), g.constant('conv2d/bias', [4])], { kernel_shape: [3, 3], strides: [1, 1], auto_pad: 'SAME_UPPER', dilations: [1, 1], group: 1 })
    .node('Relu', `${s}/conv2d/Relu`)
    .node('Transpose', `${s}/conv2d/Relu__9`, [], TO_NHWC)
    .node('Transpose', `${s}/batch_normalization/FusedBatchNormV3__12`, [], TO_NCHW)
    .node('BatchNormalization', `${s}/batch_normalization/FusedBatchNormV3`, [g.constant('bn/gamma', [4], 0.5, 1.5), g.constant('bn/beta', [4]), g.constant('bn/mean', [4]), g.constant('bn/var', [4], 0.5, 1.5)], { epsilon: { f: 0.001 }, momentum: { f: 0.99 } })
    .node('Transpose', `${s}/batch_normalization/FusedBatchNormV3__15`, [], TO_NHWC)
    .node('Transpose', `${s}/conv2d_1/Conv2D__18`, [], TO_NCHW)
    .node('Conv', `${s}/conv2d_1/Conv2D`, [g.constant('conv2d_1/kernel', [6, 4, 3, 3])], { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] })
    .node('Transpose', `${s}/conv2d_1/Conv2D__21`, [], TO_NHWC)
    .node('Add', `${s}/conv2d_1/BiasAdd`, [g.constant('conv2d_1/bias', [6])])
    .node('LeakyRelu', `${s}/leaky_re_lu/LeakyRelu`, [], { alpha: { f: 0.2 } })
    .node('Transpose', `${s}/max_pooling2d/MaxPool__24`, [], TO_NCHW)
    .node('MaxPool', `${s}/max_pooling2d/MaxPool`, [], { kernel_shape: [2, 2], strides: [2, 2] })
    .node('Transpose', `${s}/max_pooling2d/MaxPool__27`, [], TO_NHWC)
    .node('Reshape', `${s}/flatten/Reshape`, [g.int64('flatten/shape', [-1, 54])])
    .node('MatMul', `${s}/dense/MatMul`, [g.constant('dense/kernel', [54, 8])])
    .node('Add', `${s}/dense/BiasAdd`, [g.constant('dense/bias', [8])])
    .node('Relu', `${s}/dense/Relu`)
    .node('Identity', `${s}/dropout/Identity`)
    .node('MatMul', `${s}/dense_1/MatMul`, [g.constant('dense_1/kernel', [8, 1])])
    .node('Add', `${s}/dense_1/BiasAdd`, [g.constant('dense_1/bias', [1])])
    .node('Sigmoid', 'dense_1');
  return g.bytes([12, 12, 3], [1]);
}

/**
 * PyTorch's export of a small CNN on 3×8×8: conv 3×3 pad 1 + ReLU, 2×2
 * average pool, then either Flatten in (c, h, w) order or
 * GlobalAveragePool + Flatten, Linear as Gemm (transB), softmax over 3.
 */
export function pytorchGraph(random: () => number, head: 'flatten' | 'global-pool'): Uint8Array {
  const g = new GraphWriter(random, 'input');
  g.node('Conv', '/conv1/Conv', [g.constant('conv1.weight', [5, 3, 3, 3]), g.constant('conv1.bias', [5])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] })
    .node('Relu', '/relu/Relu')
    .node('AveragePool', '/pool/AveragePool', [], { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], ceil_mode: 0 });
  if (head === 'global-pool') g.node('GlobalAveragePool', '/gap/GlobalAveragePool');
  const features = head === 'flatten' ? 5 * 4 * 4 : 5;
  g.node('Flatten', '/Flatten', [], { axis: 1 })
    .node('Gemm', '/fc/Gemm', [g.constant('fc.weight', [3, features]), g.constant('fc.bias', [3])], { alpha: { f: 1 }, beta: { f: 1 }, transB: 1 })
    .node('Softmax', 'output', [], { axis: 1 });
  return g.bytes([3, 8, 8], [3], 17);
}

/**
 * An image-plus-metadata network as BTSbot and ACAI are built, written as
 * PyTorch writes it (N×C×H×W): `triplet` 3×8×8 through a conv 3×3 'same' +
 * ReLU and a 2×2 max pool, whose output feeds both a Flatten in (c, h, w)
 * order and a GlobalAveragePool + Squeeze; `metadata` (4 values) through a
 * MatMul, a Mul by a constant scale, an Add for the bias and a ReLU, then
 * Unsqueezed to N×6×1×1 for a 1×1 conv + ReLU and flattened; the three
 * concatenated (64 + 4 + 6), a dense layer of 5 with ReLU, one sigmoid unit.
 */
export function twoInputGraph(random: () => number): Uint8Array {
  const g = new GraphWriter(random, 'triplet');
  g.node('Conv', '/conv/Conv', [g.constant('conv.weight', [4, 3, 3, 3]), g.constant('conv.bias', [4])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })
    .node('Relu', '/conv/Relu')
    .node('MaxPool', '/pool/MaxPool', [], { kernel_shape: [2, 2], strides: [2, 2] })
    .node('Flatten', '/Flatten', [], { axis: 1 })
    .on(['/pool/MaxPool'], 'GlobalAveragePool', '/gap/GlobalAveragePool')
    .node('Squeeze', '/gap/Squeeze', [g.int64('squeeze_axes', [2, 3])])
    .on(['metadata'], 'MatMul', '/meta/MatMul', [g.constant('meta.weight', [4, 6])])
    .node('Mul', '/meta/Mul', [g.constant('meta.scale', [6], 0.5, 2)])
    .node('Add', '/meta/Add', [g.constant('meta.bias', [6])])
    .node('Relu', '/meta/Relu')
    .node('Unsqueeze', '/meta/Unsqueeze', [g.int64('unsqueeze_axes', [2, 3])])
    .node('Conv', '/meta/pixel/Conv', [g.constant('meta.pixel.weight', [6, 6, 1, 1]), g.constant('meta.pixel.bias', [6])], { kernel_shape: [1, 1] })
    .node('Relu', '/meta/pixel/Relu')
    .node('Flatten', '/meta/Flatten', [], { axis: 1 })
    .on(['/Flatten', '/gap/Squeeze', '/meta/Flatten'], 'Concat', '/Concat', [], { axis: 1 })
    .node('Gemm', '/fc/Gemm', [g.constant('fc.weight', [5, 74]), g.constant('fc.bias', [5])], { transB: 1 })
    .node('Relu', '/fc/Relu')
    .node('Gemm', '/out/Gemm', [g.constant('out.weight', [1, 5]), g.constant('out.bias', [1])], { transB: 1 })
    .node('Sigmoid', 'probability');
  return g.graph(
    [
      ['triplet', [3, 8, 8]],
      ['metadata', [4]],
    ],
    [1],
    17,
  );
}
