// The list of differentiable primitives, after Burn's Backend trait: the GPU
// dispatchers and the CPU references implement the same interface, so that
// autograd and a whole training step can run on either and be compared.
//
// Layouts are Keras's (channels last):
//   images  x, y, dx, dy   N×H×W×C
//   conv kernel w          KH×KW×C×F (kh, kw, in, out)
//   dense kernel w         K×M       (in, out)
//   biases b               F or M
//   logits, probabilities  N×classes

/** TF's two paddings: 'valid' reads only inside the image; 'same' pads so that out = ⌈in/stride⌉. */
export type Padding = 'valid' | 'same';

/** A convolution's strides and padding (its kernel size comes from the kernel's shape). */
export interface Conv2dOptions {
  strides: readonly [number, number];
  padding: Padding;
}

/** A pooling window: its size, strides and padding, as Keras's pool_size, strides and padding. */
export interface Pool2dOptions extends Conv2dOptions {
  size: readonly [number, number];
}

/** Activations with a smooth gradient, computed from their output. */
export type HiddenActivation = 'tanh' | 'sigmoid' | 'softmax';

export interface Tensor {
  readonly shape: readonly number[];
}

export interface RmspropHyper {
  lr: number;
  rho: number;
  epsilon: number;
}

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1-based step count (Keras's `iterations + 1`). */
  t: number;
}

/**
 * The cross-entropy a fused output op differentiates: 'logits' computes it
 * from the logits, as tf.keras does for a softmax or sigmoid output
 * (from_logits), so a confident wrong answer still has a gradient;
 * 'keras2-clipped' is Keras 2.2's, through probabilities clipped to
 * [1e-7, 1 − 1e-7], whose gradient is zero where the clip took over (for
 * exact reproduction of a Keras 2 run).
 */
export type LossName = 'logits' | 'keras2-clipped';

export interface Backend<T extends Tensor> {
  readonly name: 'gpu' | 'cpu';

  /** Copies host values into a new tensor of `shape`. */
  fromArray(data: ArrayLike<number>, shape: readonly number[]): T;
  /** Overwrites a tensor's values from the host (loading weights). */
  write(t: T, data: ArrayLike<number>): void;
  /** A new tensor of `shape` whose values are undefined until written or copied into. */
  empty(shape: readonly number[]): T;
  /** Reads a tensor back as float64 (flushes pending GPU work). */
  toArray(t: T): Promise<Float64Array>;
  /** Reads `count` elements from element `start` (flushes pending GPU work). */
  readRange(t: T, start: number, count: number): Promise<Float64Array>;
  /** Copies `count` elements, in stream order with the kernels. */
  copy(src: T, srcStart: number, dst: T, dstStart: number, count: number): void;
  /** The same storage under another shape (Flatten); dispose only one of them. */
  reshape(t: T, shape: readonly number[]): T;
  dispose(t: T): void;
  /** Ends a step: the GPU submits what it recorded; the CPU has nothing to do. */
  flush(): void;
  /** Waits until all work so far has run (and throws its device errors). */
  sync(): Promise<void>;
  /**
   * The inference batch for a model whose largest activation has this many
   * values per sample: `requested` (else the backend's default), capped so
   * that every activation fits one binding.
   */
  inferenceBatch(activationValues: number, requested?: number): number;

  /** Elementwise a + b (gradient accumulation where a tensor feeds two ops). */
  add(a: T, b: T): T;
  /** xs (equal but for the last axis) side by side along the last axis (Keras's Concatenate). */
  concatLastAxis(xs: readonly T[]): T;
  /** Columns start..start+width of x's last axis: the backward of concatLastAxis. */
  sliceLastAxis(x: T, start: number, width: number): T;
  /** Elementwise a · b (per-sample loss weights on the loss gradient). */
  mul(a: T, b: T): T;

  /**
   * Convolution with TF's strides and padding (shapes.ts's window2d):
   * x N×H×W×C, w KH×KW×C×F, b F → N×Ho×Wo×F (a layer without a bias passes zeros).
   */
  conv2dForward(x: T, w: T, b: T, conv: Conv2dOptions): T;
  /** dy N×Ho×Wo×F, w KH×KW×C×F → dx of `xShape` (N×H×W×C). */
  conv2dBackwardInput(dy: T, w: T, xShape: readonly number[], conv: Conv2dOptions): T;
  /** x N×H×W×C, dy N×Ho×Wo×F → dw KH×KW×C×F (of `kernel`, [KH, KW]), db F. */
  conv2dBackwardFilter(x: T, dy: T, kernel: readonly [number, number], conv: Conv2dOptions): { dw: T; db: T };

  /**
   * Max pooling, TF padding: x N×H×W×C → y N×Ho×Wo×C. `argmax` (shape of
   * y, u32) holds which of the window's cells won, row-major within the
   * window (first on ties); padding never wins.
   */
  maxPool2dForward(x: T, pool: Pool2dOptions): { y: T; argmax: T };
  /** Routes dy to each window's arg-max (adding where windows overlap): → dx of `xShape`. */
  maxPool2dBackward(dy: T, argmax: T, xShape: readonly number[], pool: Pool2dOptions): T;
  /** Average pooling; a 'same' border window averages its cells inside the image only, as TF. */
  avgPool2dForward(x: T, pool: Pool2dOptions): T;
  /** Spreads dy evenly over each window's cells inside the image: → dx of `xShape`. */
  avgPool2dBackward(dy: T, xShape: readonly number[], pool: Pool2dOptions): T;

  /**
   * Per-channel mean and biased variance of x over every axis but the last
   * (N×H×W×C or N×C → two tensors of C): BatchNormalization's batch statistics.
   */
  batchNormStatistics(x: T): { mean: T; variance: T };
  /** y = gamma·(x − mean)/√(variance + epsilon) + beta, per channel (the last axis). */
  batchNormForward(x: T, mean: T, variance: T, gamma: T, beta: T, epsilon: number): T;
  /**
   * The gradient through batchNormForward when mean and variance are x's own
   * batch statistics: dx, dgamma = Σ dy·x̂, dbeta = Σ dy (x̂ the normalised x).
   */
  batchNormBackward(x: T, dy: T, mean: T, variance: T, gamma: T, epsilon: number): { dx: T; dgamma: T; dbeta: T };
  /** In place: moving = momentum·moving + (1 − momentum)·scale·value (Keras's moving statistics; scale n/(n − 1) unbiases a variance). */
  movingAverageUpdate(moving: T, value: T, momentum: number, scale: number): void;

  /** tanh, the logistic sigmoid, or softmax over the last axis, as a hidden activation. */
  activationForward(x: T, kind: HiddenActivation): T;
  /** dx from the activation's output y and dy: dy·(1 − y²), dy·y·(1 − y), y·(dy − Σ dy·y). */
  activationBackward(y: T, dy: T, kind: HiddenActivation): T;

  /** x N×K, w K×M, b M → N×M. */
  denseForward(x: T, w: T, b: T): T;
  /** dy N×M, w K×M → dx N×K. */
  denseBackwardInput(dy: T, w: T): T;
  /** x N×K, dy N×M → dw K×M, db M. */
  denseBackwardWeights(x: T, dy: T): { dw: T; db: T };

  /** max(x, alpha·x); ReLU is alpha = 0. */
  leakyReluForward(x: T, alpha: number): T;
  /** dy where x > 0, alpha·dy elsewhere. */
  leakyReluBackward(x: T, dy: T, alpha: number): T;

  /**
   * Softmax over the last axis fused with categorical cross-entropy, mean over
   * the batch: logits N×C, onehot N×C → probs N×C and dlogits. With 'logits'
   * the loss is logsumexp(z) − z_true and dlogits = (probs − onehot)/N; with
   * 'keras2-clipped' the probabilities are clipped to [1e-7, 1 − 1e-7] before
   * the log, as Keras 2.2 does, and a row's gradient is 0 where its true
   * class's probability was clipped.
   */
  softmaxCrossEntropy(logits: T, onehot: T, loss: LossName): { probs: T; dlogits: T };
  /** Softmax over the last axis alone (inference): logits N×C → probs N×C. */
  softmax(logits: T): T;
  /** Sigmoid alone (inference): logits N×1 → probs N×1. */
  sigmoid(logits: T): T;
  /**
   * Sigmoid fused with binary cross-entropy (the same two losses: softplus
   * from the logits, or Keras 2.2's clip): logits N×1, targets N×1.
   */
  sigmoidBinaryCrossEntropy(logits: T, targets: T, loss: LossName): { probs: T; dlogits: T };

  /**
   * Inverted dropout: keeps an element with probability 1 − rate and scales it
   * by 1/(1 − rate). The mask is a pure function of (seed, step, index) from a
   * counter-based RNG, identical on both backends.
   */
  dropoutForward(x: T, rate: number, seed: number, step: number): T;
  dropoutBackward(dy: T, rate: number, seed: number, step: number): T;

  /** Keras 2 RMSprop, in place on param and acc. */
  rmspropUpdate(param: T, grad: T, acc: T, h: RmspropHyper): void;
  /** Keras 2 Adam, in place on param, m and v. */
  adamUpdate(param: T, grad: T, m: T, v: T, h: AdamHyper): void;
}

/** Product of a shape's dimensions. */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
