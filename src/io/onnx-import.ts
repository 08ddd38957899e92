// An ONNX graph as a Handscan model: a spec and its weights in Keras's
// layouts, for Sequential to build, run and train on its own kernels.
//
// The graphs: one image input, a chain of nodes each on the previous one's
// output (what Handscan's export and tf2onnx's Keras conversions write).
// Handscan's activations are N×H×W×C; the importer follows which ONNX
// layout each tensor is in rather than running Transposes: `axes[i]` is the
// Handscan axis that ONNX axis i holds, so a Transpose only permutes `axes`,
// a Conv needs them N×C×H×W, and a Flatten of another order than
// Handscan's (h, w, c) permutes the rows of the dense kernel that takes its
// features. Pure: bytes in, spec and weights out.
import { window2d, type Window2d } from '../kernels/shapes.ts';
import { kerasLayerNames } from '../nn/keras-names.ts';
import type { LayerWeights } from '../nn/sequential.ts';
import type { Activation, LayerSpec, ModelSpec, Pair } from '../nn/spec.ts';
import { KERNEL_FROM_ONNX, onnxPads, permute, TO_NCHW, TO_NHWC, type Layout } from './onnx-layout.ts';
import { attributeValues, constantTensor, decodeModel, float32Decimal, MAX_OPSET, METADATA, MIN_OPSET, onnx, tensorValue, toNumber, type OnnxModel, type OnnxNode, type OnnxTensor, type TensorValue } from './onnx-proto.ts';

export interface ImportedModel {
  spec: ModelSpec;
  /** The layers with weights, in order, named as the spec's layers. */
  weights: LayerWeights[];
  /** metadata_props' preprocess (Handscan's exports record it), else null. */
  preprocess: string | null;
}

const SUPPORTED = 'Conv, MaxPool, AveragePool, GlobalAveragePool, BatchNormalization, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, Gemm, MatMul, Add (a bias), Flatten, Reshape (to N×features), Transpose, Identity, Dropout and Constant';
const STANDARD_DOMAINS = ['', 'ai.onnx'];
const NCHW = TO_NCHW.join();
/** A name Handscan keeps as its layer's (and so as an HDF5 group's): no '/' or ':'. */
const LAYER_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

interface Layer {
  spec: LayerSpec;
  weights: Map<string, { shape: number[]; values: Float32Array }>;
}

/** Reads an ONNX model; any problem is one line naming the node, tensor or field. */
export function importOnnx(bytes: Uint8Array): ImportedModel {
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
  if (inputs.length !== 1) fail(`the graph has ${inputs.length} inputs (${inputs.map((v) => `'${v.name}'`).join(', ')}); Handscan imports graphs of one image input, not multi-input networks`);
  const outputs = graph.output ?? [];
  if (outputs.length !== 1) fail(`the graph has ${outputs.length} outputs; expected one, the probabilities`);
  const input = inputs[0];
  const tensorType = input.type?.tensorType;
  if (tensorType?.elemType !== onnx.TensorProto.DataType.FLOAT) fail(`input '${input.name}' is not a float32 tensor`);
  const dims = (tensorType!.shape?.dim ?? []).map((d) => (Object.hasOwn(d, 'dimValue') ? toNumber(d.dimValue) : null));
  if (dims.length !== 4 || !dims.slice(1).every((d) => d !== null && d > 0)) fail(`input '${input.name}' has shape [${dims.map((d) => d ?? '?')}]; expected an image, N×H×W×C or N×C×H×W with H, W and C given`);
  const layout = inputLayout(nodes, metadata.get(METADATA.layout));
  const [d1, d2, d3] = dims.slice(1) as number[];
  const chain = new Chain(constants, layout === 'nhwc' ? [d1, d2, d3] : [d2, d3, d1], layout === 'nhwc' ? [0, 1, 2, 3] : [...TO_NCHW], dims[0], input.name ?? '');
  const used = new Set([...nodes.flatMap((n) => n.input ?? []), ...outputs.map((o) => o.name ?? '')]);
  for (const n of nodes) chain.add(n, used);
  return chain.finish(outputs[0].name ?? '', metadata.get(METADATA.preprocess) ?? null);
}

function checkOpset(model: OnnxModel): void {
  const standard = (model.opsetImport ?? []).find((o) => STANDARD_DOMAINS.includes(o.domain ?? ''));
  if (!standard) fail("the model imports no opset of ONNX's default domain");
  const version = toNumber(standard!.version);
  if (version < MIN_OPSET || version > MAX_OPSET) fail(`opset ${version} of ONNX's default domain; Handscan reads opsets ${MIN_OPSET} to ${MAX_OPSET}`);
}

/**
 * The input's layout: what Handscan's export recorded, else what the first
 * op that cares says (a Transpose to N×C×H×W means the input is N×H×W×C,
 * a Conv on it N×C×H×W); a graph with neither is taken as N×H×W×C, Keras's.
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

/** The chain of layers read so far, and where the activation stands. */
class Chain {
  private readonly layers: Layer[] = [];
  private readonly names = new Set<string>();
  /** For an image: ONNX axis i holds Handscan axis axes[i]; null once flat. */
  private axes: number[] | null;
  /** Handscan's shape without the batch: [H, W, C], or [features]. */
  private shape: number[];
  /** After a Flatten of another order than Handscan's: ONNX feature i is Handscan feature features[i]. */
  private features: Int32Array | null = null;
  /** The layer an Add may put a bias on: a conv or dense layer with nothing after it yet. */
  private biasable: Layer | null = null;
  private current: string;

  constructor(
    private readonly constants: Map<string, OnnxTensor>,
    private readonly inputShape: [number, number, number],
    axes: number[],
    private readonly batch: number | null,
    input: string,
  ) {
    this.shape = [...inputShape];
    this.axes = axes;
    this.current = input;
  }

  add(n: OnnxNode, used: Set<string>): void {
    within(n, () => {
      if (!STANDARD_DOMAINS.includes(n.domain ?? '')) throw new Error(`is in domain '${n.domain}'; Handscan runs ONNX's default domain only`);
      const data = (n.input ?? []).filter((i) => i !== '' && !this.constants.has(i));
      if (data.length !== 1 || data[0] !== this.current) {
        throw new Error(`reads [${data.join(', ')}] where the chain is at '${this.current}': Handscan imports chain-shaped graphs (each node on the one before), not general DAGs`);
      }
      const spare = (n.output ?? []).slice(1).find((o) => o !== '' && used.has(o));
      if (spare) throw new Error(`its second output '${spare}' is used; Handscan gives each layer one output`);
      this.op(n, attributeValues(n));
      this.current = n.output?.[0] ?? '';
    });
  }

  finish(output: string, preprocess: string | null): ImportedModel {
    if (this.current !== output) fail(`the chain ends at '${this.current}', not at the graph's output '${output}'`);
    if (this.features) fail('the output is a Flatten in another order than Handscan computes; expected probabilities over classes');
    const specs = this.layers.map((l) => l.spec);
    // A name Keras would give anyway is not kept, as parseKerasModelConfig does.
    const automatic = kerasLayerNames({ inputShape: [0, 0, 0], layers: specs.map(({ name: _, ...s }) => s as LayerSpec) });
    const layers = specs.map(({ name, ...s }, i) => (name === undefined || name === automatic[i] ? (s as LayerSpec) : ({ ...s, name } as LayerSpec)));
    // A node's name that another layer has (Keras's automatic name for it, say) is dropped, until every layer's name is its own.
    let names: string[];
    for (;;) {
      names = kerasLayerNames({ inputShape: this.inputShape, layers });
      const clash = layers.findIndex((l, i) => l.name !== undefined && names.indexOf(names[i]) !== names.lastIndexOf(names[i]));
      if (clash < 0) break;
      const { name: _, ...unnamed } = layers[clash];
      layers[clash] = unnamed as LayerSpec;
    }
    const spec: ModelSpec = { inputShape: this.inputShape, layers };
    const weights = this.layers.flatMap((l, i) => (l.weights.size === 0 ? [] : [{ name: names[i], weights: [...l.weights].map(([name, w]) => ({ name, ...w })) }]));
    return { spec, weights, preprocess };
  }

  private push(spec: LayerSpec, name: string | null | undefined, weights: Layer['weights'] = new Map()): Layer {
    const kept = name && LAYER_NAME.test(name) && !this.names.has(name) ? name : undefined;
    if (kept) this.names.add(kept);
    const layer = { spec: { ...spec, name: kept } as LayerSpec, weights };
    this.layers.push(layer);
    this.biasable = spec.type === 'conv2d' || spec.type === 'dense' ? layer : null;
    return layer;
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
    if (!this.axes) throw new Error(`${op} needs an image, but the activation is already flat`);
    if (this.axes.join() !== NCHW) throw new Error(`${op} needs its input N×C×H×W; here ONNX's axes hold Handscan's [${this.axes.map((a) => 'NHWC'[a]).join('')}] (a Transpose missing before it?)`);
    return this.shape as [number, number, number];
  }

  private needsFlat(op: string): number {
    if (this.axes) throw new Error(`${op} needs a flat N×features input; add a Flatten before it`);
    return this.shape[0];
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

  private activation(n: OnnxNode, kind: Exclude<Activation, 'linear'>): void {
    const prev = this.biasable?.spec;
    // Handscan's export names a layer's own activation `<layer>/<activation>`: it goes back into the layer.
    if (prev && (prev.type === 'conv2d' || prev.type === 'dense') && prev.name !== undefined && n.name === `${prev.name}/${kind}`) {
      prev.activation = kind;
      this.biasable = null;
      return;
    }
    this.push(kind === 'relu' ? { type: 'relu' } : { type: 'activation', activation: kind }, n.name);
  }

  private op(n: OnnxNode, attrs: Map<string, number | number[] | string>): void {
    const op = n.opType ?? '';
    switch (op) {
      case 'Identity':
        return;
      case 'Dropout': {
        // Inference ignores it; the rate is kept for fine-tuning.
        const ratio = n.input?.[1] ? this.floats(n, 1, 'ratio', []).values : [0.5];
        if (!(ratio[0] >= 0 && ratio[0] < 1)) throw new Error(`ratio ${ratio[0]} is not in [0, 1)`);
        this.push({ type: 'dropout', rate: float32Decimal(ratio[0]) }, n.name);
        return;
      }
      case 'Transpose': {
        if (!this.axes) throw new Error('transposes a flat N×features activation, which moves the batch axis');
        const perm = (attrs.get('perm') as number[] | undefined) ?? [3, 2, 1, 0];
        const axes = perm.map((p) => this.axes![p]);
        if (perm.length !== 4 || new Set(perm).size !== 4 || axes[0] !== 0) throw new Error(`perm [${perm}] does not keep the batch axis first`);
        // A bias may still follow: tf2onnx adds it after the Transpose back to N×H×W×C.
        this.axes = axes;
        return;
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
        this.push({ type: 'conv2d', filters: F, kernelSize: [KH, KW], strides, padding, useBias: weights.has('bias'), activation: 'linear' }, n.name, weights);
        this.shape = [win.Ho, win.Wo, F];
        return;
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
        this.push({ type: op === 'MaxPool' ? 'maxpool2d' : 'avgpool2d', poolSize: size, strides, padding }, n.name);
        this.shape = [win.Ho, win.Wo, C];
        return;
      }
      case 'GlobalAveragePool': {
        const [H, W, C] = this.needsImage(op);
        // An average over the whole image: AveragePooling2D with the image's size.
        this.push({ type: 'avgpool2d', poolSize: [H, W], strides: [H, W], padding: 'valid' }, n.name);
        this.shape = [1, 1, C];
        return;
      }
      case 'BatchNormalization': {
        if (this.axes && this.axes[1] !== 3) throw new Error('normalises ONNX axis 1, which holds no channels here (a Transpose missing before it?)');
        if ((attrs.get('training_mode') ?? 0) !== 0) throw new Error('training_mode 1 is not supported: an inference graph normalises with its moving statistics');
        const C = this.shape[this.shape.length - 1];
        const vector = (index: number, what: string) => this.inFeatureOrder(this.floats(n, index, what, [C]).values);
        const weights: Layer['weights'] = new Map(
          (['gamma', 'beta', 'moving_mean', 'moving_variance'] as const).map((name, i) => [name, { shape: [C], values: vector(i + 1, ['scale', 'B', 'input_mean', 'input_var'][i]) }]),
        );
        const epsilon = float32Decimal((attrs.get('epsilon') as number | undefined) ?? 1e-5);
        const momentum = float32Decimal((attrs.get('momentum') as number | undefined) ?? 0.9);
        this.push({ type: 'batchnorm', momentum, epsilon, center: true, scale: true }, n.name, weights);
        return;
      }
      case 'Flatten':
        if ((attrs.get('axis') ?? 1) !== 1) throw new Error(`axis ${attrs.get('axis')} is not supported, only 1 (N×features)`);
        this.flatten(n);
        return;
      case 'Reshape': {
        const target = this.constant(n, 1, 'shape').values;
        const features = this.shape.reduce((a, b) => a * b, 1);
        const batchOk = (d: number) => d === -1 || (d === 0 && attrs.get('allowzero') !== 1) || d === this.batch;
        if (target.length !== 2 || !batchOk(target[0]) || !(target[1] === features || (target[1] === -1 && target[0] !== -1))) {
          throw new Error(`reshapes to [${Array.from(target)}]; Handscan reshapes only to N×features (N×${features})`);
        }
        this.flatten(n);
        return;
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
        this.push({ type: 'dense', units: M, useBias: weights.has('bias'), activation: 'linear' }, n.name, weights);
        this.shape = [M];
        return;
      }
      case 'MatMul': {
        const K = this.needsFlat(op);
        if (n.input?.[0] !== this.current) throw new Error('multiplies a constant by the activation; expected the activation times the kernel');
        const b = this.floats(n, 1, 'kernel');
        if (b.dims.length !== 2 || b.dims[0] !== K) throw new Error(`kernel of shape [${b.dims}] on ${K} features; expected ${K}×units`);
        const M = b.dims[1];
        this.push({ type: 'dense', units: M, useBias: false, activation: 'linear' }, n.name, new Map([['kernel', { shape: [K, M], values: this.inFeatureRows(Float32Array.from(b.values), M) }]]));
        this.shape = [M];
        return;
      }
      case 'Add': {
        const layer = this.biasable;
        if (!layer) throw new Error('adds a tensor where Handscan has no layer to take it: only a bias right after a Conv, Gemm or MatMul');
        const C = this.shape[this.shape.length - 1];
        const other = n.input?.[0] === this.current ? 1 : 0;
        const t = this.floats(n, other, 'bias');
        // The bias runs along the channels: ONNX's axis that holds Handscan's last one, all others 1 (or a scalar).
        const rank = this.axes ? 4 : 2;
        const channel = this.axes ? this.axes.indexOf(3) : 1;
        const dims = [...new Array(Math.max(rank - t.dims.length, 0)).fill(1), ...t.dims];
        if (t.values.length !== 1 && (dims.length !== rank || !dims.every((d, i) => d === (i === channel ? C : 1)))) throw new Error(`adds a tensor of shape [${t.dims}], which is not a bias over ${C} channels`);
        const bias = this.broadcast(t.values, C, 'bias');
        const old = layer.weights.get('bias')?.values;
        if (old) bias.forEach((v, i) => (old[i] += v));
        else layer.weights.set('bias', { shape: [C], values: bias });
        (layer.spec as { useBias: boolean }).useBias = true;
        return;
      }
      case 'Relu':
        this.activation(n, 'relu');
        return;
      case 'Sigmoid':
        this.activation(n, 'sigmoid');
        return;
      case 'Tanh':
        this.activation(n, 'tanh');
        return;
      case 'Softmax': {
        const rank = this.axes ? 4 : 2;
        const a = (attrs.get('axis') as number | undefined) ?? -1;
        const axis = a < 0 ? a + rank : a;
        if ((this.axes ? this.axes[axis] : axis) !== (this.axes ? 3 : 1)) throw new Error(`axis ${a} is not the channels' (Handscan's softmax runs over the last axis)`);
        this.activation(n, 'softmax');
        return;
      }
      case 'LeakyRelu':
        this.push({ type: 'leakyrelu', alpha: float32Decimal((attrs.get('alpha') as number | undefined) ?? 0.01) }, n.name);
        return;
      default:
        throw new Error(`op ${op} is not supported; Handscan imports ${SUPPORTED}`);
    }
  }

  /** Flatten or Reshape to N×features: Handscan's own order, or a permutation its next dense kernel absorbs. */
  private flatten(n: OnnxNode): void {
    if (!this.axes) return;
    const [H, W, C] = this.shape;
    const full = [1, H, W, C];
    const dims = this.axes.map((a) => full[a]);
    const features = new Int32Array(H * W * C);
    let identity = true;
    const at = [0, 0, 0, 0];
    for (let i = 0; i < features.length; i++) {
      // ONNX's i-th feature, in its axes' order, at Handscan's (h, w, c).
      for (let k = 3, rest = i; k >= 1; k--) {
        at[this.axes[k]] = rest % dims[k];
        rest = Math.floor(rest / dims[k]);
      }
      features[i] = (at[1] * W + at[2]) * C + at[3];
      identity &&= features[i] === i;
    }
    this.push({ type: 'flatten' }, n.name);
    this.features = identity ? null : features;
    this.axes = null;
    this.shape = [H * W * C];
  }

  /** A per-feature vector in Handscan's feature order (after a Flatten in another order). */
  private inFeatureOrder(values: Float32Array): Float32Array {
    const out = Float32Array.from(values);
    if (this.features) this.features.forEach((to, from) => (out[to] = values[from]));
    return out;
  }

  /** A K×M kernel with its rows in Handscan's feature order; the features are Handscan's from here on. */
  private inFeatureRows(kernel: Float32Array, M: number): Float32Array {
    if (!this.features) return kernel;
    const out = new Float32Array(kernel.length);
    this.features.forEach((to, from) => out.set(kernel.subarray(from * M, (from + 1) * M), to * M));
    this.features = null;
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
