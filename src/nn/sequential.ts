// A stack of layers built from a ModelSpec on one backend, after Keras's
// Sequential: named layers, parameter count, summary, forward, loss, predict.
import type { Backend, LossName, Tensor } from '../kernels/backend.ts';
import { glorotUniform, mulberry32 } from './init.ts';
import { kerasLayerNames } from './keras-names.ts';
import { Activation, BatchNorm, Conv2D, Dense, Dropout, Flatten, LeakyReLU, OutputActivation, Pool2D, type Context, type Layer, type Parameter } from './layers.ts';
import { sigmoidBinaryCrossEntropy, softmaxCrossEntropy } from './ops.ts';
import type { Activation as ActivationName, ModelSpec } from './spec.ts';
import { Tape, Variable } from './tape.ts';

/** Weights as plain data, keyed by Keras layer name (checkpoints, src/io/keras-hdf5.ts). */
export interface LayerWeights {
  name: string;
  weights: { name: string; shape: number[]; values: Float32Array }[];
}

/** The cross-entropy a model trains with unless told: from the logits, as tf.keras. */
export const DEFAULT_LOSS: LossName = 'logits';

export class Sequential<T extends Tensor> {
  private constructor(
    readonly spec: ModelSpec,
    readonly backend: Backend<T>,
    readonly layers: Layer<T>[],
    readonly head: 'softmax' | 'sigmoid',
    /** Which cross-entropy `loss` differentiates (Keras's compile(loss=...)). */
    readonly lossName: LossName,
  ) {}

  /**
   * Builds the spec's layers on `backend` with Glorot-uniform kernels drawn
   * from `seed`, named as the spec names them or else as Keras 2 does
   * (kerasLayerNames: conv2d_1, max_pooling2d_1, ...). A layer's activation
   * argument becomes a layer of its own, as on the tape; a softmax or sigmoid
   * that ends the network is its output head, fused into the loss.
   */
  static build<T extends Tensor>(spec: ModelSpec, backend: Backend<T>, seed: number, lossName: LossName = DEFAULT_LOSS): Sequential<T> {
    const random = mulberry32(seed);
    const names = kerasLayerNames(spec);
    const layers: Layer<T>[] = [];
    let head: 'softmax' | 'sigmoid' | null = null;
    let shape: number[] = [1, ...spec.inputShape];
    const last = spec.layers.length - 1;
    for (const [i, s] of spec.layers.entries()) {
      const n = names[i];
      const where = `layer ${i + 1} '${n}' (${s.type})`;
      const activation = (a: ActivationName) => {
        if (a === 'linear') return;
        if (a === 'relu') layers.push(new LeakyReLU<T>(`${n}/relu`, 0));
        else if (i === last && (a === 'softmax' || a === 'sigmoid')) layers.push(new OutputActivation<T>(`${n}/${a}`, (head = a)));
        else layers.push(new Activation<T>(`${n}/${a}`, a));
      };
      const added = layers.length;
      switch (s.type) {
        case 'conv2d': {
          if (shape.length !== 4) throw new Error(`${where} needs an image input N×H×W×C, got [${shape.slice(1)}]`);
          const kshape: [number, number, number, number] = [s.kernelSize[0], s.kernelSize[1], shape[3], s.filters];
          layers.push(new Conv2D(n, backend, glorotUniform(kshape, random), kshape, { strides: s.strides, padding: s.padding }, s.useBias));
          activation(s.activation);
          break;
        }
        case 'dense': {
          if (shape.length !== 2) throw new Error(`${where} needs a flat input, got [${shape.slice(1)}]: add a flatten layer`);
          const kshape: [number, number] = [shape[1], s.units];
          layers.push(new Dense(n, backend, glorotUniform(kshape, random), kshape, s.useBias));
          activation(s.activation);
          break;
        }
        case 'maxpool2d':
        case 'avgpool2d':
          if (shape.length !== 4) throw new Error(`${where} needs an image input N×H×W×C, got [${shape.slice(1)}]`);
          layers.push(new Pool2D<T>(n, s.type === 'maxpool2d' ? 'max' : 'avg', { size: s.poolSize, strides: s.strides, padding: s.padding }));
          break;
        case 'batchnorm':
          layers.push(new BatchNorm(n, backend, shape[shape.length - 1], s.momentum, s.epsilon, s.center, s.scale));
          break;
        case 'flatten':
          layers.push(new Flatten<T>(n));
          break;
        case 'relu':
          layers.push(new LeakyReLU<T>(n, 0));
          break;
        case 'leakyrelu':
          layers.push(new LeakyReLU<T>(n, s.alpha));
          break;
        case 'dropout':
          // Each dropout layer draws its own masks: its seed comes from the model's.
          layers.push(new Dropout<T>(n, s.rate, Math.floor(random() * 2 ** 32)));
          break;
        case 'activation':
          activation(s.activation);
          break;
      }
      try {
        for (const l of layers.slice(added)) shape = l.outputShape(shape);
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message}`);
      }
    }
    if (!head) throw new Error('the model must end with a softmax or sigmoid output');
    if (head === 'sigmoid' && shape[1] !== 1) throw new Error(`a sigmoid output needs 1 unit, got ${shape[1]}`);
    if (shape.length !== 2) throw new Error(`the output must be N×classes, got [${shape.slice(1)}]: add a flatten layer`);
    return new Sequential(spec, backend, layers, head, lossName);
  }

  parameters(): Parameter<T>[] {
    return this.layers.flatMap((l) => l.params);
  }

  /** Every weight, the moving statistics included, as Keras's "Total params". */
  paramCount(): number {
    return this.layers.reduce((n, l) => n + l.weights.reduce((m, p) => m + p.value.shape.reduce((a, b) => a * b, 1), 0), 0);
  }

  /** Number of output classes (1 for a sigmoid head). */
  get classes(): number {
    return this.outputShape(1)[1];
  }

  outputShape(batch: number): number[] {
    return this.layers.reduce<number[]>((s, l) => l.outputShape(s), [batch, ...this.spec.inputShape]);
  }

  /** Elements of the largest activation one sample produces (the input included). */
  largestActivation(): number {
    let shape = [1, ...this.spec.inputShape];
    let largest = shape.reduce((a, b) => a * b, 1);
    for (const l of this.layers) {
      shape = l.outputShape(shape);
      largest = Math.max(largest, shape.reduce((a, b) => a * b, 1));
    }
    return largest;
  }

  /** Logits (before the output activation) for x N×H×W×C. */
  forward(tape: Tape<T>, x: Variable<T>, ctx: Context): Variable<T> {
    return this.layers.reduce((h, l) => l.forward(tape, h, ctx), x);
  }

  /** The fused output activation + the model's loss; returns the probabilities. */
  loss(tape: Tape<T>, logits: Variable<T>, targets: T): T {
    const fused = this.head === 'softmax' ? softmaxCrossEntropy : sigmoidBinaryCrossEntropy;
    return fused(tape, logits, targets, this.lossName);
  }

  /** Inference: probabilities for x, a fresh tensor the caller disposes. */
  predict(x: T): T {
    const tape = new Tape(this.backend);
    const logits = this.forward(tape, new Variable(x, false), { training: false, step: 0 });
    const probs = this.head === 'softmax' ? this.backend.softmax(logits.value) : this.backend.sigmoid(logits.value);
    tape.reset();
    return probs;
  }

  /** A table like Keras's model.summary(). */
  summary(): string {
    const rows: [string, string, string][] = [];
    let shape = [1, ...this.spec.inputShape];
    for (const l of this.layers) {
      shape = l.outputShape(shape);
      const count = l.weights.reduce((n, p) => n + p.value.shape.reduce((a, b) => a * b, 1), 0);
      rows.push([`${l.name} (${l.className})`, `(None, ${shape.slice(1).join(', ')})`, count.toLocaleString('en-US')]);
    }
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
}
