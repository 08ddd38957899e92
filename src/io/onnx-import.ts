// An ONNX graph as a Handscan model: a graph and its weights in Keras's
// layouts, for Model to build, run and train on its own kernels (as
// Sequential when it is a chain: model.ts's chainOf).
//
// The graphs: images and metadata vectors as inputs, nodes in ONNX's
// topological order, branches that meet in a Concat or an Add (what
// Handscan's export, tf2onnx's Keras conversions and PyTorch's write).
// Handscan's activations are N×H×W×C; the importer follows which ONNX
// layout each tensor is in rather than running Transposes: `axes[i]` is the
// Handscan axis that ONNX axis i holds, so a Transpose only permutes `axes`,
// a Conv needs them N×C×H×W, and a Flatten of another order than
// Handscan's (h, w, c) permutes the rows of the dense kernel that takes its
// features (through a Concat too). A bias Add or a scale Mul folds into the
// conv or dense layer before it. Pure: bytes in, graph and weights out.
import { window2d, type Window2d } from '../kernels/shapes.ts';
import { kerasLayerNames } from '../nn/keras-names.ts';
import type { LayerWeights } from '../nn/sequential.ts';
import type { Activation, GraphInput, GraphSpec, LayerSpec, Pair } from '../nn/spec.ts';
import { KERNEL_FROM_ONNX, onnxPads, permute, TO_NCHW, TO_NHWC, type Layout } from './onnx-layout.ts';
import { attributeValues, constantTensor, decodeModel, float32Decimal, MAX_OPSET, METADATA, MIN_OPSET, onnx, tensorValue, toNumber, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo, type TensorValue } from './onnx-proto.ts';

/** Any graph the importer reads: named inputs, a DAG of layers, one output. */
export interface ImportedGraph {
  graph: GraphSpec;
  /** The layers with weights, in order, named as the graph's nodes. */
  weights: LayerWeights[];
  preprocess: string | null;
}

const SUPPORTED = 'Conv, MaxPool, AveragePool, GlobalAveragePool, BatchNormalization, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, Gemm, MatMul, Add (a bias, or of two tensors), Mul (by a constant, after a Conv, Gemm or MatMul), Concat, Flatten, Reshape (an image to N×features, or N×features to N×H×W×C), Squeeze (to N×features), Unsqueeze (N×features to a 1×1 image), Transpose, Identity, Dropout and Constant';
const STANDARD_DOMAINS = ['', 'ai.onnx'];
const NCHW = TO_NCHW.join();
/** A name Handscan keeps as its layer's (and so as an HDF5 group's): no '/' or ':'. */
const LAYER_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

interface Layer {
  spec: LayerSpec;
  weights: Map<string, { shape: number[]; values: Float32Array }>;
  /** What it reads: a graph input's name, or an earlier layer's index. */
  reads: (string | number)[];
}

/** Where an ONNX tensor stands in Handscan's terms. */
interface Value {
  /** The graph input's name, or the index of the layer whose output it is. */
  source: string | number;
  /** For an image: ONNX axis i holds Handscan axis axes[i]; null once flat. */
  axes: number[] | null;
  /** Handscan's shape without the batch: [H, W, C], or [features]. */
  shape: number[];
  /** After a Flatten of another order than Handscan's: ONNX feature i is Handscan feature features[i]. */
  features: Int32Array | null;
  /** The layer an Add or Mul may fold into: a conv or dense layer with nothing after it yet, its output read only here. */
  foldable: Layer | null;
}

/** Reads an ONNX model as a graph model: images and vectors as inputs, branches, Concat and Add. */
export function importOnnxGraph(bytes: Uint8Array): ImportedGraph {
  const model = decodeModel(bytes);
  checkOpset(model);
  const graph = model.graph ?? fail('the file has no graph');
  const metadata = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const constants = new Map<string, OnnxTensor>((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const nodes: OnnxNode[] = [];
  for (const n of graph.node ?? []) {
    if (n.opType === 'Constant' && STANDARD_DOMAINS.includes(n.domain ?? '')) constants.set(n.output?.[0] ?? '', within(n, () => constantTensor(n)));
    else nodes.push(n);
  }
  // Before IR 4 the initializers were listed among the inputs too.
  const inputs = (graph.input ?? []).filter((v) => !constants.has(v.name ?? ''));
  if (inputs.length === 0) fail('the graph has no input');
  const outputs = graph.output ?? [];
  if (outputs.length !== 1) fail(`the graph has ${outputs.length} outputs; expected one, the probabilities`);
  const layout = inputLayout(nodes, metadata.get(METADATA.layout));
  // How many nodes (and graph outputs) read each tensor: a bias folds only into a layer whose output nothing else reads.
  const readers = new Map<string, number>();
  for (const name of [...nodes.flatMap((n) => n.input ?? []), ...outputs.map((o) => o.name ?? '')]) readers.set(name, (readers.get(name) ?? 0) + 1);
  const reader = new GraphReader(constants, readers);
  for (const input of inputs) reader.input(input, layout);
  for (const n of nodes) reader.add(n);
  return reader.finish(outputs[0].name ?? '', metadata.get(METADATA.preprocess) ?? null);
}

function checkOpset(model: OnnxModel): void {
  const standard = (model.opsetImport ?? []).find((o) => STANDARD_DOMAINS.includes(o.domain ?? ''));
  if (!standard) fail("the model imports no opset of ONNX's default domain");
  const version = toNumber(standard!.version);
  if (version < MIN_OPSET || version > MAX_OPSET) fail(`opset ${version} of ONNX's default domain; Handscan reads opsets ${MIN_OPSET} to ${MAX_OPSET}`);
}

/**
 * The image inputs' layout: what Handscan's export recorded, else what the
 * first op that cares says (a Transpose to N×C×H×W means the input is
 * N×H×W×C, a Conv on it N×C×H×W); a graph with neither is taken as
 * N×H×W×C, Keras's.
 */
function inputLayout(nodes: OnnxNode[], recorded: string | undefined): Layout {
  if (recorded === 'nhwc' || recorded === 'nchw') return recorded;
  for (const n of nodes) {
    if (n.opType === 'Transpose') {
      const perm = String(attributeValues(n).get('perm'));
      return perm === TO_NHWC.join() ? 'nchw' : 'nhwc';
    }
    if (['Conv', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'BatchNormalization'].includes(n.opType ?? '')) return 'nchw';
    if (['Flatten', 'Reshape', 'Gemm', 'MatMul'].includes(n.opType ?? '')) break;
  }
  return 'nhwc';
}

/** The layers read so far, and where each ONNX tensor stands. */
class GraphReader {
  private readonly layers: Layer[] = [];
  private readonly names = new Set<string>();
  private readonly inputs: GraphInput[] = [];
  private readonly values = new Map<string, Value>();
  /** The batch dimension the inputs give, when fixed. */
  private batch: number | null = null;
  /** The node being read, its data inputs' values and attributes. */
  private x!: Value;
  private xs!: Value[];

  constructor(
    private readonly constants: Map<string, OnnxTensor>,
    private readonly readers: Map<string, number>,
  ) {}

  /** A graph input: an image (N×H×W×C or N×C×H×W, as `layout` says) or a vector N×K. */
  input(input: OnnxValueInfo, layout: Layout): void {
    const name = input.name ?? '';
    const tensorType = input.type?.tensorType;
    if (tensorType?.elemType !== onnx.TensorProto.DataType.FLOAT) fail(`input '${name}' is not a float32 tensor`);
    const dims = (tensorType!.shape?.dim ?? []).map((d) => (Object.hasOwn(d, 'dimValue') ? toNumber(d.dimValue) : null));
    if (![2, 4].includes(dims.length) || !dims.slice(1).every((d) => d !== null && d > 0)) fail(`input '${name}' has shape [${dims.map((d) => d ?? '?')}]; expected an image, N×H×W×C or N×C×H×W with H, W and C given, or a vector N×K`);
    if (!LAYER_NAME.test(name)) fail(`input '${name}' is not a name Handscan can keep (a letter, then letters, digits, '_', '.' or '-')`);
    this.batch ??= dims[0];
    const [d1, d2, d3] = dims.slice(1) as number[];
    const image = dims.length === 4;
    const shape = !image ? [d1] : layout === 'nhwc' ? [d1, d2, d3] : [d2, d3, d1];
    this.inputs.push({ name, shape });
    this.names.add(name);
    this.values.set(name, { source: name, axes: image ? (layout === 'nhwc' ? [0, 1, 2, 3] : [...TO_NCHW]) : null, shape, features: null, foldable: null });
  }

  add(n: OnnxNode): void {
    within(n, () => {
      if (!STANDARD_DOMAINS.includes(n.domain ?? '')) throw new Error(`is in domain '${n.domain}'; Handscan runs ONNX's default domain only`);
      const data = (n.input ?? []).filter((i) => i !== '' && !this.constants.has(i));
      this.xs = data.map((name) => this.values.get(name) ?? fail(`reads '${name}', which no earlier node writes`));
      const merges = n.opType === 'Concat' || (n.opType === 'Add' && data.length === 2);
      if (!merges && data.length !== 1) throw new Error(`reads ${data.length} tensors [${data.join(', ')}]; a ${n.opType} takes one (its others constants in the file)`);
      // What may fold into the layer before: only where nothing else reads its output.
      this.x = { ...this.xs[0], foldable: data.length === 1 && this.readers.get(data[0]) === 1 ? this.xs[0].foldable : null };
      const spare = (n.output ?? []).slice(1).find((o) => o !== '' && this.readers.has(o));
      if (spare) throw new Error(`its second output '${spare}' is used; Handscan gives each layer one output`);
      this.values.set(n.output?.[0] ?? '', this.op(n, attributeValues(n)));
    });
  }

  finish(output: string, preprocess: string | null): ImportedGraph {
    const out = this.values.get(output) ?? fail(`no node writes the graph's output '${output}'`);
    if (out.features) fail('the output is a Flatten in another order than Handscan computes; expected probabilities over classes');
    if (out.source !== this.layers.length - 1) fail(`the output '${output}' is not the last layer's: Handscan's graph ends in its output head`);
    const specs = this.layers.map((l) => l.spec);
    // A node's name that another layer (or an input) has, Keras's automatic name for it say, is dropped, until every name is its own.
    let names: string[];
    for (;;) {
      names = kerasLayerNames({ layers: specs });
      const taken = new Set(this.inputs.map((i) => i.name));
      const clash = specs.findIndex((l, i) => l.name !== undefined && (names.indexOf(names[i]) !== names.lastIndexOf(names[i]) || taken.has(names[i])));
      const automatic = names.findIndex((name) => taken.has(name));
      if (clash < 0 && automatic < 0) break;
      if (clash < 0) fail(`layer ${automatic + 1} would be named '${names[automatic]}', which is an input's name`);
      const { name: _, ...unnamed } = specs[clash];
      specs[clash] = unnamed as LayerSpec;
    }
    const nodes = this.layers.map((l, i) => ({ layer: { ...specs[i], name: names[i] } as LayerSpec, inputs: l.reads.map((r) => (typeof r === 'number' ? names[r] : r)) }));
    const weights = this.layers.flatMap((l, i) => (l.weights.size === 0 ? [] : [{ name: names[i], weights: [...l.weights].map(([name, w]) => ({ name, ...w })) }]));
    return { graph: { inputs: this.inputs, nodes }, weights, preprocess };
  }

  /** A new layer on the node's inputs; its output's value, in Handscan's layout unless `axes` say otherwise. */
  private push(spec: LayerSpec, name: string | null | undefined, shape: number[], weights: Layer['weights'] = new Map(), rest: Partial<Value> = {}): Value {
    const kept = name && LAYER_NAME.test(name) && !this.names.has(name) ? name : undefined;
    if (kept) this.names.add(kept);
    const layer = { spec: { ...spec, name: kept } as LayerSpec, weights, reads: this.xs.map((v) => v.source) };
    this.layers.push(layer);
    return { source: this.layers.length - 1, axes: this.x.axes, shape, features: this.x.features, foldable: spec.type === 'conv2d' || spec.type === 'dense' ? layer : null, ...rest };
  }

  /** The same tensor under another ONNX name or layout: no layer. */
  private same(rest: Partial<Value> = {}): Value {
    return { ...this.x, ...rest };
  }

  private constant(n: OnnxNode, index: number, what: string): TensorValue {
    const name = n.input?.[index];
    const t = name ? this.constants.get(name) : undefined;
    if (!t) throw new Error(`its ${what} (input ${index + 1}) is not a constant in the file`);
    return tensorValue(t);
  }

  /** A float32 constant input, of shape `dims` when given. */
  private floats(n: OnnxNode, index: number, what: string, dims?: number[]): { dims: number[]; values: Float32Array } {
    const t = this.constant(n, index, what);
    if (!(t.values instanceof Float32Array)) throw new Error(`its ${what} is not a float32 tensor`);
    if (dims && t.dims.join() !== dims.join()) throw new Error(`its ${what} has shape [${t.dims}]; expected [${dims}]`);
    return { dims: t.dims, values: t.values };
  }

  private needsImage(op: string): [number, number, number] {
    const { axes, shape } = this.x;
    if (!axes) throw new Error(`${op} needs an image, but the activation is already flat`);
    if (axes.join() !== NCHW) throw new Error(`${op} needs its input N×C×H×W; here ONNX's axes hold Handscan's [${axes.map((a) => 'NHWC'[a]).join('')}] (a Transpose missing before it?)`);
    return shape as [number, number, number];
  }

  private needsFlat(op: string): number {
    if (this.x.axes) throw new Error(`${op} needs a flat N×features input; add a Flatten before it`);
    return this.x.shape[0];
  }

  /** The padding a window's pads (or auto_pad) ask for, as Handscan's 'valid' or 'same' (TF's rule) with its window, or an error. */
  private window(attrs: Map<string, unknown>, [H, W]: number[], kernel: Pair, strides: Pair): { padding: 'valid' | 'same'; win: Window2d; pads: number[] } {
    if (!((attrs.get('dilations') as number[] | undefined) ?? [1, 1]).every((d) => d === 1)) throw new Error(`dilations [${attrs.get('dilations')}] are not supported, only 1`);
    const auto = (attrs.get('auto_pad') as string | undefined) ?? 'NOTSET';
    const ceil = attrs.get('ceil_mode') === 1;
    const same = onnxPads(window2d('onnx', H, W, kernel, { strides, padding: 'same' }));
    let pads: number[];
    if (auto === 'NOTSET') pads = (attrs.get('pads') as number[] | undefined) ?? [0, 0, 0, 0];
    else if (auto === 'VALID') pads = [0, 0, 0, 0];
    else if (auto === 'SAME_UPPER') pads = same;
    // SAME_LOWER puts the odd cell at the top and left.
    else if (auto === 'SAME_LOWER') pads = [same[2], same[3], same[0], same[1]];
    else throw new Error(`auto_pad '${auto}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER`);
    const out = (size: number, k: number, s: number, before: number, after: number) => (ceil ? Math.ceil : Math.floor)((size + before + after - k) / s) + 1;
    const [Ho, Wo] = [out(H, kernel[0], strides[0], pads[0], pads[2]), out(W, kernel[1], strides[1], pads[1], pads[3])];
    for (const padding of ['valid', 'same'] as const) {
      let win;
      try {
        win = window2d('onnx', H, W, kernel, { strides, padding });
      } catch {
        // A 'valid' window larger than the input.
        continue;
      }
      if (onnxPads(win).join() === pads.join() && win.Ho === Ho && win.Wo === Wo) return { padding, win, pads };
    }
    throw new Error(`pads [${pads}]${ceil ? ' with ceil_mode' : ''} on a ${H}×${W} input are neither TF's 'valid' nor its 'same' ([${same}]), the paddings Handscan runs`);
  }

  private pair(attrs: Map<string, unknown>, key: string, fallback: Pair): Pair {
    const v = (attrs.get(key) as number[] | undefined) ?? fallback;
    if (v.length !== 2 || !v.every((x) => Number.isInteger(x) && x > 0)) throw new Error(`${key} [${v}] is not two positive integers`);
    return [v[0], v[1]];
  }

  private activation(n: OnnxNode, kind: Exclude<Activation, 'linear'>): Value {
    const prev = this.x.foldable?.spec;
    // Handscan's export names a layer's own activation `<layer>/<activation>`: it goes back into the layer.
    if (prev && (prev.type === 'conv2d' || prev.type === 'dense') && prev.name !== undefined && n.name === `${prev.name}/${kind}`) {
      prev.activation = kind;
      return this.same({ foldable: null });
    }
    return this.push(kind === 'relu' ? { type: 'relu' } : { type: 'activation', activation: kind }, n.name, this.x.shape);
  }

  /** The constant operand of an Add or Mul as a vector over the activation's channels (ONNX's axis that holds Handscan's last one, all others 1, or a scalar). */
  private channelConstant(n: OnnxNode, what: string): Float32Array {
    const { axes, shape } = this.x;
    const C = shape[shape.length - 1];
    const t = this.floats(n, this.constants.has(n.input?.[0] ?? '') ? 0 : 1, what);
    const rank = axes ? 4 : 2;
    const channel = axes ? axes.indexOf(3) : 1;
    const dims = [...new Array(Math.max(rank - t.dims.length, 0)).fill(1), ...t.dims];
    if (t.values.length !== 1 && (dims.length !== rank || !dims.every((d, i) => d === (i === channel ? C : 1)))) throw new Error(`${n.opType === 'Mul' ? 'multiplies by' : 'adds'} a tensor of shape [${t.dims}], which is not a ${what} over ${C} channels`);
    return this.broadcast(t.values, C, what);
  }

  private op(n: OnnxNode, attrs: Map<string, number | number[] | string>): Value {
    const op = n.opType ?? '';
    const { axes, shape } = this.x;
    switch (op) {
      case 'Identity':
        return this.same();
      case 'Dropout': {
        // Inference ignores it; the rate is kept for fine-tuning.
        const ratio = n.input?.[1] ? this.floats(n, 1, 'ratio', []).values : [0.5];
        if (!(ratio[0] >= 0 && ratio[0] < 1)) throw new Error(`ratio ${ratio[0]} is not in [0, 1)`);
        return this.push({ type: 'dropout', rate: float32Decimal(ratio[0]) }, n.name, shape);
      }
      case 'Transpose': {
        if (!axes) throw new Error('transposes a flat N×features activation, which moves the batch axis');
        const perm = (attrs.get('perm') as number[] | undefined) ?? [3, 2, 1, 0];
        const permuted = perm.map((p) => axes[p]);
        if (perm.length !== 4 || new Set(perm).size !== 4 || permuted[0] !== 0) throw new Error(`perm [${perm}] does not keep the batch axis first`);
        // A bias may still follow: tf2onnx adds it after the Transpose back to N×H×W×C.
        return this.same({ axes: permuted });
      }
      case 'Conv': {
        const [H, W, C] = this.needsImage(op);
        const w = this.floats(n, 1, 'kernel');
        if (w.dims.length !== 4 || w.dims[1] !== C) throw new Error(`kernel of shape [${w.dims}] on ${C} channels; expected F×${C}×KH×KW`);
        if ((attrs.get('group') ?? 1) !== 1) throw new Error(`group ${attrs.get('group')} is not supported, only 1`);
        const [F, , KH, KW] = w.dims;
        if (KH > 7 || KW > 7) throw new Error(`its ${KH}×${KW} kernel is not supported: each side must be 1 to 7`);
        const strides = this.pair(attrs, 'strides', [1, 1]);
        const { padding, win } = this.window(attrs, [H, W], [KH, KW], strides);
        const weights: Layer['weights'] = new Map([['kernel', { shape: [KH, KW, C, F], values: permute(w.values, w.dims, KERNEL_FROM_ONNX) }]]);
        if (n.input?.[2]) weights.set('bias', { shape: [F], values: this.floats(n, 2, 'bias', [F]).values });
        return this.push({ type: 'conv2d', filters: F, kernelSize: [KH, KW], strides, padding, useBias: weights.has('bias'), activation: 'linear' }, n.name, [win.Ho, win.Wo, F], weights);
      }
      case 'MaxPool':
      case 'AveragePool': {
        const [H, W, C] = this.needsImage(op);
        const size = this.pair(attrs, 'kernel_shape', [0, 0]);
        const strides = this.pair(attrs, 'strides', [1, 1]);
        const { padding, win, pads } = this.window(attrs, [H, W], size, strides);
        if (op === 'MaxPool' && (attrs.get('storage_order') ?? 0) !== 0) throw new Error('storage_order 1 is not supported');
        // TF's 'same' averages over the cells inside the image only.
        if (op === 'AveragePool' && attrs.get('count_include_pad') === 1 && pads.some((p) => p > 0)) throw new Error('count_include_pad 1 averages over the padding too, which Handscan does not');
        return this.push({ type: op === 'MaxPool' ? 'maxpool2d' : 'avgpool2d', poolSize: size, strides, padding }, n.name, [win.Ho, win.Wo, C]);
      }
      case 'GlobalAveragePool': {
        const [H, W, C] = this.needsImage(op);
        // An average over the whole image: AveragePooling2D with the image's size.
        return this.push({ type: 'avgpool2d', poolSize: [H, W], strides: [H, W], padding: 'valid' }, n.name, [1, 1, C]);
      }
      case 'BatchNormalization': {
        if (axes && axes[1] !== 3) throw new Error('normalises ONNX axis 1, which holds no channels here (a Transpose missing before it?)');
        if ((attrs.get('training_mode') ?? 0) !== 0) throw new Error('training_mode 1 is not supported: an inference graph normalises with its moving statistics');
        const C = shape[shape.length - 1];
        const vector = (index: number, what: string) => this.inFeatureOrder(this.floats(n, index, what, [C]).values);
        const weights: Layer['weights'] = new Map(
          (['gamma', 'beta', 'moving_mean', 'moving_variance'] as const).map((name, i) => [name, { shape: [C], values: vector(i + 1, ['scale', 'B', 'input_mean', 'input_var'][i]) }]),
        );
        const epsilon = float32Decimal((attrs.get('epsilon') as number | undefined) ?? 1e-5);
        const momentum = float32Decimal((attrs.get('momentum') as number | undefined) ?? 0.9);
        return this.push({ type: 'batchnorm', momentum, epsilon, center: true, scale: true }, n.name, shape, weights);
      }
      case 'Flatten':
        if ((attrs.get('axis') ?? 1) !== 1) throw new Error(`axis ${attrs.get('axis')} is not supported, only 1 (N×features)`);
        return this.flatten(n);
      case 'Reshape': {
        const target = Array.from(this.constant(n, 1, 'shape').values as ArrayLike<number>);
        const features = shape.reduce((a, b) => a * b, 1);
        const batchOk = (d: number) => d === -1 || (d === 0 && attrs.get('allowzero') !== 1) || d === this.batch;
        const [first, ...rest] = target;
        if (batchOk(first) && target.length === 2 && (rest[0] === features || (rest[0] === -1 && first !== -1))) return this.flatten(n);
        // A flat activation made an image as Keras's Reshape makes one: N×H×W×C, the values in their order.
        if (batchOk(first) && target.length === 4 && !axes && rest.every((d) => d > 0) && rest[0] * rest[1] * rest[2] === features) return this.toImage(n, rest, [0, 1, 2, 3]);
        throw new Error(`reshapes [N, ${shape}] to [${target}]; Handscan reshapes an image to N×features (N×${features}), or N×features to N×H×W×C`);
      }
      case 'Unsqueeze': {
        // N×K with two unit axes added (PyTorch's x[:, :, None, None] before a 1×1 conv): an image of 1×1 pixel and K channels.
        const given = Array.from(this.constant(n, 1, 'axes').values as ArrayLike<number>);
        const added = given.map((a) => (a < 0 ? a + 4 : a)).sort();
        if (axes || added.length !== 2 || new Set(added).size !== 2 || added.some((a) => a < 1 || a > 3)) throw new Error(`unsqueezes axes [${given}] of [N, ${shape}]; Handscan unsqueezes N×features by two unit axes to an image`);
        const channel = [1, 2, 3].find((a) => !added.includes(a))!;
        const onnxAxes = [0, 0, 0, 0];
        onnxAxes[channel] = 3;
        added.forEach((a, k) => (onnxAxes[a] = 1 + k));
        return this.toImage(n, [1, 1, shape[0]], onnxAxes);
      }
      case 'Squeeze': {
        // Of an image whose squeezed axes are all 1 and leave N×features (a GlobalAveragePool's N×C×1×1): a Flatten.
        const dims = axes ? axes.map((a) => [1, ...shape][a]) : [1, ...shape];
        const given = n.input?.[1] ? Array.from(this.constant(n, 1, 'axes').values as ArrayLike<number>) : dims.flatMap((d, i) => (i > 0 && d === 1 ? [i] : []));
        const squeezed = given.map((a) => (a < 0 ? a + dims.length : a));
        if (!axes || squeezed.includes(0) || squeezed.some((a) => dims[a] !== 1) || dims.length - squeezed.length !== 2) throw new Error(`squeezes axes [${given}] of [N, ${dims.slice(1)}]; Handscan squeezes size-1 axes of an image only down to N×features`);
        return this.flatten(n);
      }
      case 'Gemm': {
        const K = this.needsFlat(op);
        if ((attrs.get('transA') ?? 0) !== 0) throw new Error('transA 1 is not supported');
        const b = this.floats(n, 1, 'B');
        const transB = attrs.get('transB') === 1;
        if (b.dims.length !== 2 || b.dims[transB ? 1 : 0] !== K) throw new Error(`B of shape [${b.dims}]${transB ? ' (transB)' : ''} on ${K} features`);
        const M = b.dims[transB ? 0 : 1];
        const alpha = (attrs.get('alpha') as number | undefined) ?? 1;
        const beta = (attrs.get('beta') as number | undefined) ?? 1;
        const kernel = transB ? permute(b.values, b.dims, [1, 0]) : Float32Array.from(b.values);
        if (alpha !== 1) for (let i = 0; i < kernel.length; i++) kernel[i] *= alpha;
        const weights: Layer['weights'] = new Map([['kernel', { shape: [K, M], values: this.inFeatureRows(kernel, M) }]]);
        if (n.input?.[2]) weights.set('bias', { shape: [M], values: this.broadcast(this.floats(n, 2, 'C').values, M, 'C').map((v) => v * beta) });
        return this.push({ type: 'dense', units: M, useBias: weights.has('bias'), activation: 'linear' }, n.name, [M], weights, { features: null });
      }
      case 'MatMul': {
        const K = this.needsFlat(op);
        if (this.constants.has(n.input?.[0] ?? '')) throw new Error('multiplies a constant by the activation; expected the activation times the kernel');
        const b = this.floats(n, 1, 'kernel');
        if (b.dims.length !== 2 || b.dims[0] !== K) throw new Error(`kernel of shape [${b.dims}] on ${K} features; expected ${K}×units`);
        const M = b.dims[1];
        return this.push({ type: 'dense', units: M, useBias: false, activation: 'linear' }, n.name, [M], new Map([['kernel', { shape: [K, M], values: this.inFeatureRows(Float32Array.from(b.values), M) }]]), { features: null });
      }
      case 'Add': {
        if (this.xs.length === 2) return this.merge(n, 'add');
        const layer = this.x.foldable;
        if (!layer) throw new Error('adds a constant where Handscan has no layer to take it: only a bias right after a Conv, Gemm or MatMul whose output nothing else reads');
        const bias = this.channelConstant(n, 'bias');
        const old = layer.weights.get('bias')?.values;
        if (old) bias.forEach((v, i) => (old[i] += v));
        else layer.weights.set('bias', { shape: [bias.length], values: bias });
        (layer.spec as { useBias: boolean }).useBias = true;
        return this.same();
      }
      case 'Mul': {
        // A scale after a Conv or dense layer: it scales the layer's output columns, its kernel's and bias's.
        const layer = this.x.foldable;
        if (!layer) throw new Error('multiplies where Handscan has no layer to take it: only a constant scale right after a Conv, Gemm or MatMul whose output nothing else reads');
        const scale = this.channelConstant(n, 'scale');
        for (const w of layer.weights.values()) w.values.forEach((v, i) => (w.values[i] = v * scale[i % scale.length]));
        return this.same();
      }
      case 'Concat':
        return this.merge(n, 'concat');
      case 'Relu':
        return this.activation(n, 'relu');
      case 'Sigmoid':
        return this.activation(n, 'sigmoid');
      case 'Tanh':
        return this.activation(n, 'tanh');
      case 'Softmax': {
        const rank = axes ? 4 : 2;
        const a = (attrs.get('axis') as number | undefined) ?? -1;
        const axis = a < 0 ? a + rank : a;
        if ((axes ? axes[axis] : axis) !== (axes ? 3 : 1)) throw new Error(`axis ${a} is not the channels' (Handscan's softmax runs over the last axis)`);
        return this.activation(n, 'softmax');
      }
      case 'LeakyRelu':
        return this.push({ type: 'leakyrelu', alpha: float32Decimal((attrs.get('alpha') as number | undefined) ?? 0.01) }, n.name, shape);
      default:
        throw new Error(`op ${op} is not supported; Handscan imports ${SUPPORTED}`);
    }
  }

  /**
   * Concat (along Handscan's last axis: the channels of images, the
   * features of vectors) or Add of two tensors: every input in one layout,
   * and for an Add the same feature order.
   */
  private merge(n: OnnxNode, type: 'concat' | 'add'): Value {
    const [first, ...others] = this.xs;
    const layout = (v: Value) => v.axes?.join() ?? 'flat';
    const odd = others.find((v) => layout(v) !== layout(first));
    if (odd) throw new Error(`its inputs are in different layouts (ONNX axes holding Handscan's ${[first, odd].map((v) => (v.axes ? v.axes.map((a) => 'NHWC'[a]).join('') : 'N×features')).join(' and ')})`);
    if (type === 'add') {
      if (first.shape.join() !== others[0].shape.join()) throw new Error(`adds shapes [${first.shape}] and [${others[0].shape}], which differ`);
      if (String(first.features) !== String(others[0].features)) throw new Error('adds two Flattens of different feature orders');
      return this.push({ type: 'add' }, n.name, first.shape);
    }
    const a = (attributeValues(n).get('axis') as number | undefined) ?? fail('a Concat needs an axis');
    const rank = first.axes ? 4 : 2;
    const axis = a < 0 ? a + rank : a;
    if ((first.axes ? first.axes[axis] : axis) !== (first.axes ? 3 : 1)) throw new Error(`axis ${a} is not Handscan's last (channels or features); Handscan concatenates along it only`);
    const widths = this.xs.map((v) => v.shape[v.shape.length - 1]);
    const shape = [...first.shape.slice(0, -1), widths.reduce((s, w) => s + w, 0)];
    // After Flattens of another order than Handscan's, each input's features keep their order, after those of the inputs before.
    let features: Int32Array | null = null;
    if (this.xs.some((v) => v.features)) {
      features = new Int32Array(shape[0]);
      let start = 0;
      this.xs.forEach((v, k) => {
        for (let i = 0; i < widths[k]; i++) features![start + i] = start + (v.features ? v.features[i] : i);
        start += widths[k];
      });
    }
    return this.push({ type: 'concat' }, n.name, shape, undefined, { features });
  }

  /** A flat activation as an image of Handscan's shape `[H, W, C]` (a Reshape layer), whose ONNX axis i holds Handscan axis `onnxAxes[i]`. */
  private toImage(n: OnnxNode, [H, W, C]: number[], onnxAxes: number[]): Value {
    if (this.x.features) throw new Error('makes an image of features in another order than Handscan\'s, which no layer before it absorbs');
    return this.push({ type: 'reshape', targetShape: [H, W, C] }, n.name, [H, W, C], undefined, { axes: onnxAxes });
  }

  /** Flatten, Reshape or Squeeze to N×features: Handscan's own order, or a permutation its next dense kernel absorbs. */
  private flatten(n: OnnxNode): Value {
    const { axes, shape } = this.x;
    if (!axes) return this.same();
    const [H, W, C] = shape;
    const full = [1, H, W, C];
    const dims = axes.map((a) => full[a]);
    const features = new Int32Array(H * W * C);
    let identity = true;
    const at = [0, 0, 0, 0];
    for (let i = 0; i < features.length; i++) {
      // ONNX's i-th feature, in its axes' order, at Handscan's (h, w, c).
      for (let k = 3, rest = i; k >= 1; k--) {
        at[axes[k]] = rest % dims[k];
        rest = Math.floor(rest / dims[k]);
      }
      features[i] = (at[1] * W + at[2]) * C + at[3];
      identity &&= features[i] === i;
    }
    return this.push({ type: 'flatten' }, n.name, [H * W * C], undefined, { axes: null, features: identity ? null : features });
  }

  /** A per-feature vector in Handscan's feature order (after a Flatten in another order). */
  private inFeatureOrder(values: Float32Array): Float32Array {
    const out = Float32Array.from(values);
    this.x.features?.forEach((to, from) => (out[to] = values[from]));
    return out;
  }

  /** A K×M kernel with its rows in Handscan's feature order (the layer's output features are Handscan's). */
  private inFeatureRows(kernel: Float32Array, M: number): Float32Array {
    const { features } = this.x;
    if (!features) return kernel;
    const out = new Float32Array(kernel.length);
    features.forEach((to, from) => out.set(kernel.subarray(from * M, (from + 1) * M), to * M));
    return out;
  }

  /** A bias of `size` values, or one value for all. */
  private broadcast(values: Float32Array, size: number, what: string): Float32Array {
    if (values.length === 1) return new Float32Array(size).fill(values[0]);
    if (values.length !== size) throw new Error(`its ${what} has ${values.length} values; expected ${size}`);
    return Float32Array.from(values);
  }
}

/** Runs `f`, naming the node in its error. */
function within<T>(n: OnnxNode, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new Error(`ONNX node '${n.name ?? ''}' (${n.opType}): ${(e as Error).message}`);
  }
}

function fail(why: string): never {
  throw new Error(`ONNX graph: ${why}`);
}
