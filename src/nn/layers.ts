// Keras-like layers over the tape ops. A layer knows its output shape, owns
// its parameters (and, for batch normalisation, its moving statistics) and
// carries its Keras name ('conv2d_1', or a file's own 'fc_out'), so that
// checkpoints line up with Keras's files.
import type { Backend, Conv2dOptions, HiddenActivation, Pool2dOptions, Tensor } from '../kernels/backend.ts';
import { concatShape, pooledShape, window2d } from '../kernels/shapes.ts';
import { activation, add, avgPool2d, batchNormInference, batchNormTraining, concat, conv2d, dense, dropout, flatten, leakyRelu, maxPool2d, reshape } from './ops.ts';
import type { Tape } from './tape.ts';
import { Variable } from './tape.ts';

/** Per-step settings every layer sees. */
export interface Context {
  /** Dropout is active and batch normalisation uses the batch's statistics only in training. */
  training: boolean;
  /** Global training step: with the layer's seed it fixes the dropout mask. */
  step: number;
  /** Dropout is active even when not training, batch normalisation keeping its moving statistics (MC-dropout). */
  dropout?: boolean;
}

/** A trainable tensor with its Keras weight name ('kernel', 'bias', 'gamma', 'beta'). */
export class Parameter<T extends Tensor> extends Variable<T> {
  constructor(
    readonly name: string,
    value: T,
  ) {
    super(value, true);
  }
}

/** A saved tensor that no optimizer updates (batch normalisation's moving statistics). */
export interface StateTensor<T extends Tensor> {
  name: string;
  value: T;
}

/** What every layer has, whatever it reads: a name and its weights. */
export abstract class LayerBase<T extends Tensor> {
  readonly params: Parameter<T>[] = [];
  readonly state: StateTensor<T>[] = [];
  constructor(readonly name: string) {}
  /** What a summary calls it: Keras's class name where it has one. */
  get className(): string {
    return this.constructor.name;
  }
  /** Keras's weight order: the parameters, then the state. */
  get weights(): { name: string; value: T }[] {
    return [...this.params, ...this.state];
  }
}

/** A layer of one input: all that a chain (Sequential) holds. */
export abstract class Layer<T extends Tensor> extends LayerBase<T> {
  abstract outputShape(input: readonly number[]): number[];
  abstract forward(tape: Tape<T>, x: Variable<T>, ctx: Context): Variable<T>;
}

/** A layer of two or more inputs, which only a graph model has. */
export abstract class MergeLayer<T extends Tensor> extends LayerBase<T> {
  abstract outputShape(inputs: readonly (readonly number[])[]): number[];
  abstract forward(tape: Tape<T>, xs: readonly Variable<T>[]): Variable<T>;
}

/** Keras's Concatenate over the last axis. */
export class Concatenate<T extends Tensor> extends MergeLayer<T> {
  outputShape(inputs: readonly (readonly number[])[]): number[] {
    return concatShape(inputs);
  }
  forward(tape: Tape<T>, xs: readonly Variable<T>[]): Variable<T> {
    return concat(tape, xs);
  }
}

/** Keras's Add of two inputs of one shape. */
export class Add<T extends Tensor> extends MergeLayer<T> {
  outputShape(inputs: readonly (readonly number[])[]): number[] {
    if (inputs.length !== 2) throw new Error(`Handscan adds two inputs, not ${inputs.length}`);
    const [a, b] = inputs;
    if (a.join() !== b.join()) throw new Error(`adds shapes [${a.slice(1)}] and [${b.slice(1)}], which differ`);
    return [...a];
  }
  forward(tape: Tape<T>, [a, b]: readonly Variable<T>[]): Variable<T> {
    return add(tape, a, b);
  }
}

/** A bias parameter, or a constant zero one where Keras has use_bias=False. */
function biasOf<T extends Tensor>(layer: LayerBase<T>, B: Backend<T>, size: number, useBias: boolean): Variable<T> {
  const zeros = B.fromArray(new Float32Array(size), [size]);
  if (!useBias) return new Variable(zeros, false);
  const p = new Parameter('bias', zeros);
  layer.params.push(p);
  return p;
}

/** Conv2D: kernel KH×KW×C×F, bias F (unless use_bias=False), TF strides and padding. */
export class Conv2D<T extends Tensor> extends Layer<T> {
  private readonly kernel: Parameter<T>;
  private readonly bias: Variable<T>;
  constructor(name: string, B: Backend<T>, kernel: Float32Array, kernelShape: [number, number, number, number], readonly conv: Conv2dOptions, useBias: boolean) {
    super(name);
    this.kernel = new Parameter('kernel', B.fromArray(kernel, kernelShape));
    this.params.push(this.kernel);
    this.bias = biasOf(this, B, kernelShape[3], useBias);
  }
  outputShape([n, h, w]: readonly number[]): number[] {
    const [KH, KW, , F] = this.kernel.shape;
    const win = window2d(this.name, h, w, [KH, KW], this.conv);
    return [n, win.Ho, win.Wo, F];
  }
  forward(tape: Tape<T>, x: Variable<T>): Variable<T> {
    return conv2d(tape, x, this.kernel, this.bias, this.conv);
  }
}

/** Dense: kernel K×M, bias M (unless use_bias=False). */
export class Dense<T extends Tensor> extends Layer<T> {
  private readonly kernel: Parameter<T>;
  private readonly bias: Variable<T>;
  constructor(name: string, B: Backend<T>, kernel: Float32Array, kernelShape: [number, number], useBias: boolean) {
    super(name);
    this.kernel = new Parameter('kernel', B.fromArray(kernel, kernelShape));
    this.params.push(this.kernel);
    this.bias = biasOf(this, B, kernelShape[1], useBias);
  }
  outputShape([n]: readonly number[]): number[] {
    return [n, this.kernel.shape[1]];
  }
  forward(tape: Tape<T>, x: Variable<T>): Variable<T> {
    return dense(tape, x, this.kernel, this.bias);
  }
}

/** MaxPooling2D or AveragePooling2D. */
export class Pool2D<T extends Tensor> extends Layer<T> {
  constructor(
    name: string,
    readonly kind: 'max' | 'avg',
    readonly pool: Pool2dOptions,
  ) {
    super(name);
  }
  override get className(): string {
    return this.kind === 'max' ? 'MaxPooling2D' : 'AveragePooling2D';
  }
  outputShape(input: readonly number[]): number[] {
    return pooledShape(input, this.pool);
  }
  forward(tape: Tape<T>, x: Variable<T>): Variable<T> {
    return this.kind === 'max' ? maxPool2d(tape, x, this.pool) : avgPool2d(tape, x, this.pool);
  }
}

/**
 * BatchNormalization over the last axis, as Keras: in training the batch's
 * own statistics normalise, and the moving ones follow them with
 * `momentum` (the variance unbiased by M/(M − 1), M values per channel);
 * at inference the moving statistics normalise.
 */
export class BatchNorm<T extends Tensor> extends Layer<T> {
  private readonly gamma: Variable<T>;
  private readonly beta: Variable<T>;
  private readonly movingMean: T;
  private readonly movingVariance: T;
  constructor(
    name: string,
    private readonly B: Backend<T>,
    channels: number,
    readonly momentum: number,
    readonly epsilon: number,
    center: boolean,
    scale: boolean,
  ) {
    super(name);
    const filled = (v: number) => B.fromArray(new Float32Array(channels).fill(v), [channels]);
    const trainable = (weight: string, initial: number, on: boolean) => {
      if (!on) return new Variable(filled(initial), false);
      const p = new Parameter(weight, filled(initial));
      this.params.push(p);
      return p;
    };
    this.gamma = trainable('gamma', 1, scale);
    this.beta = trainable('beta', 0, center);
    this.movingMean = filled(0);
    this.movingVariance = filled(1);
    this.state.push({ name: 'moving_mean', value: this.movingMean }, { name: 'moving_variance', value: this.movingVariance });
  }
  override get className(): string {
    return 'BatchNormalization';
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
  forward(tape: Tape<T>, x: Variable<T>, ctx: Context): Variable<T> {
    if (!ctx.training) return batchNormInference(tape, x, this.movingMean, this.movingVariance, this.gamma.value, this.beta.value, this.epsilon);
    const { y, mean, variance } = batchNormTraining(tape, x, this.gamma, this.beta, this.epsilon);
    const perChannel = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    this.B.movingAverageUpdate(this.movingMean, mean, this.momentum, 1);
    this.B.movingAverageUpdate(this.movingVariance, variance, this.momentum, perChannel > 1 ? perChannel / (perChannel - 1) : 1);
    return y;
  }
}

/** LeakyReLU(alpha); ReLU is alpha = 0. */
export class LeakyReLU<T extends Tensor> extends Layer<T> {
  constructor(
    name: string,
    readonly alpha: number,
  ) {
    super(name);
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
  forward(tape: Tape<T>, x: Variable<T>): Variable<T> {
    return leakyRelu(tape, x, this.alpha);
  }
}

/** tanh, sigmoid or softmax before the last layer (a hidden activation, with its own gradient). */
export class Activation<T extends Tensor> extends Layer<T> {
  constructor(
    name: string,
    readonly kind: HiddenActivation,
  ) {
    super(name);
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
  forward(tape: Tape<T>, x: Variable<T>): Variable<T> {
    return activation(tape, x, this.kind);
  }
}

/** Inverted dropout in training (and under MC-dropout's `ctx.dropout`), the identity at inference. */
export class Dropout<T extends Tensor> extends Layer<T> {
  constructor(
    name: string,
    readonly rate: number,
    /** Fixed per layer; with the step it determines the mask. */
    readonly seed: number,
  ) {
    super(name);
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
  forward(tape: Tape<T>, x: Variable<T>, ctx: Context): Variable<T> {
    return (ctx.training || ctx.dropout) && this.rate > 0 ? dropout(tape, x, this.rate, this.seed, ctx.step) : x;
  }
}

/** Keras's Reshape of one sample's values to `target` (no batch axis), which must hold as many. */
export class Reshape<T extends Tensor> extends Layer<T> {
  constructor(
    name: string,
    readonly target: readonly number[],
  ) {
    super(name);
  }
  outputShape([n, ...rest]: readonly number[]): number[] {
    const [from, to] = [rest, this.target].map((s) => s.reduce((a, b) => a * b, 1));
    if (from !== to) throw new Error(`reshapes [${rest}] (${from} values) to [${this.target}] (${to})`);
    return [n, ...this.target];
  }
  forward(tape: Tape<T>, x: Variable<T>): Variable<T> {
    return reshape(tape, x, [x.shape[0], ...this.target]);
  }
}

export class Flatten<T extends Tensor> extends Layer<T> {
  outputShape([n, ...rest]: readonly number[]): number[] {
    return [n, rest.reduce((a, b) => a * b, 1)];
  }
  forward(tape: Tape<T>, x: Variable<T>): Variable<T> {
    return flatten(tape, x);
  }
}

/**
 * The output activation (softmax over classes, or a sigmoid on one unit). It
 * is not a tape op: training fuses it into the loss, inference applies it to
 * the logits (Model.predict).
 */
export class OutputActivation<T extends Tensor> extends Layer<T> {
  constructor(
    name: string,
    readonly kind: 'softmax' | 'sigmoid',
  ) {
    super(name);
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
  forward(_tape: Tape<T>, x: Variable<T>): Variable<T> {
    return x;
  }
}
