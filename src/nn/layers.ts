// Keras-like layers over the tape ops. A layer knows its output shape, owns
// its parameters and names itself as Keras 2 would ('conv2d_1', 'dense_2'),
// so that checkpoints line up with the notebook's files.
import type { Backend, Tensor } from '../kernels/backend.ts';
import { conv2d, dense, dropout, flatten, leakyRelu, maxPool2d } from './ops.ts';
import type { Tape } from './tape.ts';
import { Variable } from './tape.ts';

/** Per-step settings every layer sees. */
export interface Context {
  /** Dropout is active only in training. */
  training: boolean;
  /** Global training step: with the layer's seed it fixes the dropout mask. */
  step: number;
}

/** A trainable tensor with its Keras weight name ('kernel' or 'bias'). */
export class Parameter<T extends Tensor> extends Variable<T> {
  constructor(
    readonly name: 'kernel' | 'bias',
    value: T,
  ) {
    super(value, true);
  }
}

export abstract class Layer<T extends Tensor> {
  readonly params: Parameter<T>[] = [];
  constructor(readonly name: string) {}
  abstract outputShape(input: readonly number[]): number[];
  abstract forward(tape: Tape<T>, x: Variable<T>, ctx: Context): Variable<T>;
}

/** Conv2D, K×K, 'same', stride 1: kernel K×K×C×F, bias F. */
export class Conv2D<T extends Tensor> extends Layer<T> {
  constructor(name: string, B: Backend<T>, kernel: Float32Array, kernelShape: [number, number, number, number], filters: number) {
    super(name);
    this.params.push(new Parameter('kernel', B.fromArray(kernel, kernelShape)), new Parameter('bias', B.fromArray(new Float32Array(filters), [filters])));
  }
  outputShape([n, h, w]: readonly number[]): number[] {
    return [n, h, w, this.params[1].shape[0]];
  }
  forward(tape: Tape<T>, x: Variable<T>): Variable<T> {
    return conv2d(tape, x, this.params[0], this.params[1]);
  }
}

/** Dense: kernel K×M, bias M. */
export class Dense<T extends Tensor> extends Layer<T> {
  constructor(name: string, B: Backend<T>, kernel: Float32Array, kernelShape: [number, number]) {
    super(name);
    const units = kernelShape[1];
    this.params.push(new Parameter('kernel', B.fromArray(kernel, kernelShape)), new Parameter('bias', B.fromArray(new Float32Array(units), [units])));
  }
  outputShape([n]: readonly number[]): number[] {
    return [n, this.params[1].shape[0]];
  }
  forward(tape: Tape<T>, x: Variable<T>): Variable<T> {
    return dense(tape, x, this.params[0], this.params[1]);
  }
}

/** MaxPooling2D 2×2, stride 2, 'same' (TF pads odd sizes at the end). */
export class MaxPool2D<T extends Tensor> extends Layer<T> {
  outputShape([n, h, w, c]: readonly number[]): number[] {
    return [n, Math.ceil(h / 2), Math.ceil(w / 2), c];
  }
  forward(tape: Tape<T>, x: Variable<T>): Variable<T> {
    return maxPool2d(tape, x);
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

/** Inverted dropout in training, the identity at inference. */
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
    return ctx.training && this.rate > 0 ? dropout(tape, x, this.rate, this.seed, ctx.step) : x;
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
 * the logits (Sequential.predict).
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
