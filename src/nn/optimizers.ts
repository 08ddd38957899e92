// Optimizers over a model's parameters: per-parameter state tensors on the
// backend, one in-place update kernel per parameter per step.
import type { AdamHyper, Backend, RmspropHyper, Tensor } from '../kernels/backend.ts';
import type { Parameter } from './layers.ts';

/**
 * Keras 2's defaults (keras/optimizers.py: RMSprop(learning_rate=0.001,
 * rho=0.9), Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999), epsilon
 * K.epsilon() = 1e-7), which the paper's notebook used.
 */
export const RMSPROP_DEFAULTS: Readonly<RmspropHyper> = { lr: 0.001, rho: 0.9, epsilon: 1e-7 };
export const ADAM_DEFAULTS: Readonly<Omit<AdamHyper, 't'>> = { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

export type OptimizerName = 'rmsprop' | 'adam';
export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['rmsprop', 'adam'];

/** Optimizer state as plain data, for checkpoints (`--resume`). */
export interface OptimizerState {
  name: OptimizerName;
  iterations: number;
  /** The learning rate the next step takes (a schedule changes it); absent in checkpoints from before schedules. */
  lr?: number;
  /** Slot tensors in parameter order: RMSprop [acc], Adam [m, v] per parameter. */
  slots: Float32Array[];
}

export abstract class Optimizer<T extends Tensor> {
  /** Steps taken so far (Keras's `iterations`). */
  iterations = 0;
  /** The learning rate of the next step: part of the state, so that a schedule's value survives `--resume`. */
  abstract lr: number;
  protected slots: T[][] = [];
  abstract readonly name: OptimizerName;
  protected abstract readonly slotsPerParam: number;

  constructor(
    protected readonly backend: Backend<T>,
    readonly params: Parameter<T>[],
  ) {}

  /** Zero state, created on first use so that subclasses' fields are set. */
  protected state(): T[][] {
    if (this.slots.length === 0) {
      this.slots = this.params.map((p) => Array.from({ length: this.slotsPerParam }, () => this.backend.fromArray(new Float32Array(p.value.shape.reduce((a, b) => a * b, 1)), p.shape)));
    }
    return this.slots;
  }

  /** One update from the parameters' current gradients. */
  step(): void {
    this.iterations++;
    const state = this.state();
    this.params.forEach((p, i) => {
      if (!p.grad) throw new Error(`optimizer step: parameter ${i} (${p.name}) has no gradient`);
      this.update(p, p.grad, state[i]);
    });
  }

  protected abstract update(p: Parameter<T>, grad: T, slots: T[]): void;

  async getState(): Promise<OptimizerState> {
    const slots: Float32Array[] = [];
    for (const group of this.state()) for (const s of group) slots.push(Float32Array.from(await this.backend.toArray(s)));
    return { name: this.name, iterations: this.iterations, lr: this.lr, slots };
  }

  setState(s: OptimizerState): void {
    const state = this.state();
    const expected = state.length * this.slotsPerParam;
    if (s.name !== this.name || s.slots.length !== expected) {
      throw new Error(`optimizer state is ${s.name} with ${s.slots.length} slots, expected ${this.name} with ${expected}`);
    }
    state.flat().forEach((t, i) => this.backend.write(t, s.slots[i]));
    this.iterations = s.iterations;
    if (s.lr !== undefined) this.lr = s.lr;
  }
}

/** Keras 2 RMSprop. */
export class RMSprop<T extends Tensor> extends Optimizer<T> {
  readonly name = 'rmsprop';
  protected readonly slotsPerParam = 1;
  lr: number;
  constructor(backend: Backend<T>, params: Parameter<T>[], readonly hyper: RmspropHyper = RMSPROP_DEFAULTS) {
    super(backend, params);
    this.lr = hyper.lr;
  }
  protected update(p: Parameter<T>, grad: T, [acc]: T[]): void {
    this.backend.rmspropUpdate(p.value, grad, acc, { ...this.hyper, lr: this.lr });
  }
}

/** Keras 2 Adam. */
export class Adam<T extends Tensor> extends Optimizer<T> {
  readonly name = 'adam';
  protected readonly slotsPerParam = 2;
  lr: number;
  constructor(backend: Backend<T>, params: Parameter<T>[], readonly hyper: Omit<AdamHyper, 't'> = ADAM_DEFAULTS) {
    super(backend, params);
    this.lr = hyper.lr;
  }
  protected update(p: Parameter<T>, grad: T, [m, v]: T[]): void {
    this.backend.adamUpdate(p.value, grad, m, v, { ...this.hyper, lr: this.lr, t: this.iterations });
  }
}

export function makeOptimizer<T extends Tensor>(name: OptimizerName, backend: Backend<T>, params: Parameter<T>[], lr?: number): Optimizer<T> {
  if (name === 'rmsprop') return new RMSprop(backend, params, { ...RMSPROP_DEFAULTS, ...(lr === undefined ? {} : { lr }) });
  return new Adam(backend, params, { ...ADAM_DEFAULTS, ...(lr === undefined ? {} : { lr }) });
}
