// A DAG of layers built from a GraphSpec on one backend, after Keras's
// functional Model: named inputs (an image, metadata vectors), layers of one
// input and merges of several, one output head. Sequential is its chain.
import type { Backend, LossName, Tensor } from '../kernels/backend.ts';
import { glorotUniform, mulberry32 } from './init.ts';
import { kerasLayerNames } from './keras-names.ts';
import { Activation, Add, BatchNorm, Concatenate, Conv2D, Dense, Dropout, Flatten, LeakyReLU, MergeLayer, OutputActivation, Pool2D, Reshape, type Context, type Layer, type LayerBase, type Parameter } from './layers.ts';
import { sigmoidBinaryCrossEntropy, softmaxCrossEntropy } from './ops.ts';
import type { Activation as ActivationName, Architecture, GraphSpec, LayerSpec, ModelSpec } from './spec.ts';
import { Tape, Variable } from './tape.ts';

/** Weights as plain data, keyed by Keras layer name (checkpoints, src/io/keras-hdf5.ts). */
export interface LayerWeights {
  name: string;
  weights: { name: string; shape: number[]; values: Float32Array }[];
}

/** The cross-entropy a model trains with unless told: from the logits, as tf.keras. */
export const DEFAULT_LOSS: LossName = 'logits';

/** What Keras names a Sequential model's input. */
export const CHAIN_INPUT = 'input_1';

/** A chain as a graph: one input, each layer on the one before, every layer named (Keras's automatic names where the spec gives none). */
export function graphOf(spec: ModelSpec, input = CHAIN_INPUT): GraphSpec {
  const names = kerasLayerNames(spec);
  return {
    inputs: [{ name: input, shape: [...spec.inputShape] }],
    nodes: spec.layers.map((layer, i) => ({ layer: { ...layer, name: names[i] }, inputs: [i === 0 ? input : names[i - 1]] })),
  };
}

/**
 * The chain a graph is, when it is one (one image input, each node reading
 * the one before): the spec Sequential builds, keeping only the names Keras
 * would not give anyway, so that a chain read from a file equals the
 * built-in spec it was saved from. Null for any other graph.
 */
export function chainOf(graph: GraphSpec): ModelSpec | null {
  const [input] = graph.inputs;
  if (graph.inputs.length !== 1 || input.shape.length !== 3) return null;
  const names = kerasLayerNames({ layers: graph.nodes.map((n) => n.layer) });
  if (graph.nodes.some((n, i) => n.inputs.length !== 1 || n.inputs[0] !== (i === 0 ? input.name : names[i - 1]))) return null;
  const layers = graph.nodes.map((n) => n.layer);
  const automatic = kerasLayerNames({ layers: layers.map(({ name: _, ...l }) => l as LayerSpec) });
  return { inputShape: [...input.shape] as [number, number, number], layers: layers.map(({ name, ...l }, i) => (name === automatic[i] ? (l as LayerSpec) : ({ ...l, name } as LayerSpec))) };
}

/** One layer on the tape: the value slots it reads (the inputs first, then each step's output in order). */
interface Step<T extends Tensor> {
  layer: LayerBase<T>;
  reads: number[];
}

/** What a model's inputs are given as: the one input's value, or each input's by name. */
export type Inputs<V> = V | Readonly<Record<string, V>>;

/** The built parts of a graph, which Model and Sequential both hold. */
interface Built<T extends Tensor> {
  layers: LayerBase<T>[];
  steps: Step<T>[];
  head: 'softmax' | 'sigmoid';
}

export class Model<T extends Tensor> {
  readonly layers: LayerBase<T>[];
  private readonly steps: Step<T>[];
  readonly head: 'softmax' | 'sigmoid';

  protected constructor(
    readonly graph: GraphSpec,
    readonly backend: Backend<T>,
    built: Built<T>,
    /** Which cross-entropy `loss` differentiates (Keras's compile(loss=...)). */
    readonly lossName: LossName,
  ) {
    this.layers = built.layers;
    this.steps = built.steps;
    this.head = built.head;
  }

  /** What the model was built from, as a checkpoint saves it: the graph (Sequential: its spec). */
  get architecture(): Architecture {
    return this.graph;
  }

  /** Builds a graph as Sequential.build builds a chain (the same initialisation, names and head). */
  static fromGraph<T extends Tensor>(graph: GraphSpec, backend: Backend<T>, seed: number, lossName: LossName = DEFAULT_LOSS): Model<T> {
    return new Model(graph, backend, buildGraph(graph, backend, seed), lossName);
  }

  /** The built parts of `graph`, for a subclass's constructor. */
  protected static built<T extends Tensor>(graph: GraphSpec, backend: Backend<T>, seed: number): Built<T> {
    return buildGraph(graph, backend, seed);
  }

  parameters(): Parameter<T>[] {
    return this.layers.flatMap((l) => l.params);
  }

  /** Every weight, the moving statistics included, as Keras's "Total params". */
  paramCount(): number {
    return this.layers.reduce((n, l) => n + countOf(l), 0);
  }

  /** The shape of one sample of the model's one input (H×W×C for an image); a model of several inputs names them in `graph.inputs`. */
  get inputShape(): readonly number[] {
    const inputs = this.graph.inputs;
    if (inputs.length !== 1) throw new Error(`the model has ${inputs.length} inputs (${inputs.map((i) => `'${i.name}'`).join(', ')}), not one`);
    return inputs[0].shape;
  }

  /** Number of output classes (1 for a sigmoid head). */
  get classes(): number {
    return this.outputShape(1)[1];
  }

  outputShape(batch: number): number[] {
    return this.shapes(batch).at(-1)!;
  }

  /** Elements of the largest activation one sample produces (the inputs included). */
  largestActivation(): number {
    return Math.max(...this.shapes(1).map((s) => s.reduce((a, b) => a * b, 1)));
  }

  /** Logits (before the output activation) for the inputs (N×H×W×C images, N×K vectors); `observe` sees each layer's output (diagnostics). */
  forward(tape: Tape<T>, x: Inputs<Variable<T>>, ctx: Context, observe?: (layer: LayerBase<T>, out: Variable<T>) => void): Variable<T> {
    const values = this.inputValues(x);
    for (const { layer, reads } of this.steps) {
      const inputs = reads.map((r) => values[r]);
      values.push(layer instanceof MergeLayer ? layer.forward(tape, inputs) : (layer as Layer<T>).forward(tape, inputs[0], ctx));
      observe?.(layer, values.at(-1)!);
    }
    return values.at(-1)!;
  }

  /** The fused output activation + the model's loss; returns the probabilities. */
  loss(tape: Tape<T>, logits: Variable<T>, targets: T): T {
    const fused = this.head === 'softmax' ? softmaxCrossEntropy : sigmoidBinaryCrossEntropy;
    return fused(tape, logits, targets, this.lossName);
  }

  /** Inference: probabilities for x, a fresh tensor the caller disposes. */
  predict(x: Inputs<T>): T {
    const tape = new Tape(this.backend);
    const logits = this.forward(tape, constantInputs(x), { training: false, step: 0 });
    const probs = this.head === 'softmax' ? this.backend.softmax(logits.value) : this.backend.sigmoid(logits.value);
    tape.reset();
    return probs;
  }

  /** A table like Keras's model.summary(). */
  summary(): string {
    const shapes = this.shapes(1).slice(this.graph.inputs.length);
    const rows = this.layers.map((l, i): [string, string, string] => [`${l.name} (${l.className})`, `(None, ${shapes[i].slice(1).join(', ')})`, countOf(l).toLocaleString('en-US')]);
    const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), ['Layer (type)', 'Output Shape', 'Param #'][i].length));
    const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('   ');
    return [line(['Layer (type)', 'Output Shape', 'Param #']), '-'.repeat(w[0] + w[1] + w[2] + 6), ...rows.map(line), `Total params: ${this.paramCount().toLocaleString('en-US')}`].join('\n');
  }

  /** Reads every weight back to the host, by Keras layer name, in Keras's order (batch normalisation's moving statistics included). */
  async getWeights(): Promise<LayerWeights[]> {
    const out: LayerWeights[] = [];
    for (const l of this.layers) {
      if (l.weights.length === 0) continue;
      const weights = [];
      for (const p of l.weights) weights.push({ name: p.name, shape: [...p.value.shape], values: Float32Array.from(await this.backend.toArray(p.value)) });
      out.push({ name: l.name, weights });
    }
    return out;
  }

  /** Loads weights by layer order, by weight name, checking every shape. */
  setWeights(layers: LayerWeights[]): void {
    const mine = this.layers.filter((l) => l.weights.length > 0);
    if (layers.length !== mine.length) throw new Error(`weights for ${layers.length} layers, the model has ${mine.length} layers with weights`);
    mine.forEach((l, i) => {
      const given = layers[i];
      for (const p of l.weights) {
        const w = given.weights.find((w) => w.name === p.name);
        if (!w) throw new Error(`layer ${given.name}: no '${p.name}' weight (model layer ${l.name})`);
        if (w.shape.join('x') !== p.value.shape.join('x')) throw new Error(`layer ${given.name}/${p.name}: shape [${w.shape}] where the model has [${p.value.shape}]`);
        this.backend.write(p.value, w.values);
      }
    });
  }

  /** Every value slot's shape for a batch: the inputs, then each layer's output. */
  private shapes(batch: number): number[][] {
    const shapes = this.graph.inputs.map((i) => [batch, ...i.shape]);
    for (const { layer, reads } of this.steps) {
      const inputs = reads.map((r) => shapes[r]);
      shapes.push(layer instanceof MergeLayer ? layer.outputShape(inputs) : (layer as Layer<T>).outputShape(inputs[0]));
    }
    return shapes;
  }

  private inputValues(x: Inputs<Variable<T>>): Variable<T>[] {
    const inputs = this.graph.inputs;
    if (x instanceof Variable) {
      if (inputs.length !== 1) throw new Error(`the model has ${inputs.length} inputs (${inputs.map((i) => `'${i.name}'`).join(', ')}): give each by name`);
      return [x];
    }
    return inputs.map((i) => x[i.name] ?? fail(`no value for the model's input '${i.name}'`));
  }
}

const countOf = <T extends Tensor>(l: LayerBase<T>) => l.weights.reduce((m, p) => m + p.value.shape.reduce((a, b) => a * b, 1), 0);

/** Inputs as variables that need no gradient (data, not parameters). */
export function constantInputs<T extends Tensor>(x: Inputs<T>): Inputs<Variable<T>> {
  if (Array.isArray((x as Tensor).shape)) return new Variable(x as T, false);
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, new Variable(v, false)]));
}

/**
 * Builds the graph's layers on `backend` with Glorot-uniform kernels drawn
 * from `seed`, in node order, named as the nodes name them or else as Keras
 * 2 does (kerasLayerNames: conv2d_1, max_pooling2d_1, ...). A layer's
 * activation argument becomes a layer of its own, as on the tape; a softmax
 * or sigmoid that ends the last node is the output head, fused into the loss.
 */
function buildGraph<T extends Tensor>(graph: GraphSpec, backend: Backend<T>, seed: number): Built<T> {
  const random = mulberry32(seed);
  const names = kerasLayerNames({ layers: graph.nodes.map((n) => n.layer) });
  const layers: LayerBase<T>[] = [];
  const steps: Step<T>[] = [];
  let head: 'softmax' | 'sigmoid' | null = null;
  // Each name's value slot and its shape for one sample.
  const slots = new Map<string, number>();
  const shapes: number[][] = [];
  for (const { name, shape } of graph.inputs) {
    if (slots.has(name)) throw new Error(`two inputs are named '${name}'`);
    slots.set(name, shapes.length);
    shapes.push([1, ...shape]);
  }
  const last = graph.nodes.length - 1;
  for (const [i, { layer: s, inputs }] of graph.nodes.entries()) {
    const n = names[i];
    const where = `layer ${i + 1} '${n}' (${s.type})`;
    if (slots.has(n)) throw new Error(`${where}: the name '${n}' is taken`);
    const reads = inputs.map((name) => slots.get(name) ?? fail(`${where} reads '${name}', which is neither an input nor an earlier layer`));
    const merge = s.type === 'concat' || s.type === 'add';
    if (merge ? reads.length < 2 : reads.length !== 1) throw new Error(`${where} reads ${reads.length} inputs; it takes ${merge ? 'two or more' : 'one'}`);
    let shape = shapes[reads[0]];
    const added: LayerBase<T>[] = [];
    const activation = (a: ActivationName) => {
      if (a === 'linear') return;
      if (a === 'relu') added.push(new LeakyReLU<T>(`${n}/relu`, 0));
      else if (i === last && (a === 'softmax' || a === 'sigmoid')) added.push(new OutputActivation<T>(`${n}/${a}`, (head = a)));
      else added.push(new Activation<T>(`${n}/${a}`, a));
    };
    switch (s.type) {
      case 'conv2d': {
        if (shape.length !== 4) throw new Error(`${where} needs an image input N×H×W×C, got [${shape.slice(1)}]`);
        const kshape: [number, number, number, number] = [s.kernelSize[0], s.kernelSize[1], shape[3], s.filters];
        added.push(new Conv2D(n, backend, glorotUniform(kshape, random), kshape, { strides: s.strides, padding: s.padding }, s.useBias));
        activation(s.activation);
        break;
      }
      case 'dense': {
        if (shape.length !== 2) throw new Error(`${where} needs a flat input, got [${shape.slice(1)}]: add a flatten layer`);
        const kshape: [number, number] = [shape[1], s.units];
        added.push(new Dense(n, backend, glorotUniform(kshape, random), kshape, s.useBias));
        activation(s.activation);
        break;
      }
      case 'maxpool2d':
      case 'avgpool2d':
        if (shape.length !== 4) throw new Error(`${where} needs an image input N×H×W×C, got [${shape.slice(1)}]`);
        added.push(new Pool2D<T>(n, s.type === 'maxpool2d' ? 'max' : 'avg', { size: s.poolSize, strides: s.strides, padding: s.padding }));
        break;
      case 'batchnorm':
        added.push(new BatchNorm(n, backend, shape[shape.length - 1], s.momentum, s.epsilon, s.center, s.scale));
        break;
      case 'flatten':
        added.push(new Flatten<T>(n));
        break;
      case 'reshape':
        if (s.targetShape.length !== 1 && s.targetShape.length !== 3) throw new Error(`${where} reshapes to [${s.targetShape}]: Handscan's activations are images H×W×C or flat vectors`);
        added.push(new Reshape<T>(n, s.targetShape));
        break;
      case 'relu':
        added.push(new LeakyReLU<T>(n, 0));
        break;
      case 'leakyrelu':
        added.push(new LeakyReLU<T>(n, s.alpha));
        break;
      case 'dropout':
        // Each dropout layer draws its own masks: its seed comes from the model's.
        added.push(new Dropout<T>(n, s.rate, Math.floor(random() * 2 ** 32)));
        break;
      case 'activation':
        activation(s.activation);
        break;
      case 'concat':
        added.push(new Concatenate<T>(n));
        break;
      case 'add':
        added.push(new Add<T>(n));
        break;
    }
    // The node's value so far: its layers run in turn on it.
    let slot = reads;
    try {
      for (const l of added) {
        shape = l instanceof MergeLayer ? l.outputShape(slot.map((r) => shapes[r])) : (l as Layer<T>).outputShape(shape);
        steps.push({ layer: l, reads: slot });
        slot = [shapes.length];
        shapes.push(shape);
      }
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
    layers.push(...added);
    // A node of no layers (a linear Activation) passes its input on.
    slots.set(n, slot[0]);
  }
  const shape = shapes.at(-1)!;
  if (!head) throw new Error('the model must end with a softmax or sigmoid output');
  if (head === 'sigmoid' && shape[1] !== 1) throw new Error(`a sigmoid output needs 1 unit, got ${shape[1]}`);
  if (shape.length !== 2) throw new Error(`the output must be N×classes, got [${shape.slice(1)}]: add a flatten layer`);
  return { layers, steps, head };
}

function fail(why: string): never {
  throw new Error(why);
}
