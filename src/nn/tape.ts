// Reverse-mode autograd as a tape, after micrograd's engine.py: every op
// records, right beside its forward, a closure that adds its inputs' gradients
// from its output's gradient. The tape is written in execution order, which is
// a topological order, so backward is a walk in reverse.
import type { Backend, Tensor } from '../kernels/backend.ts';

/** A value in the graph and, after `backward`, the gradient of the loss. */
export class Variable<T extends Tensor> {
  grad: T | null = null;
  constructor(
    readonly value: T,
    readonly requiresGrad: boolean,
  ) {}
  get shape(): readonly number[] {
    return this.value.shape;
  }
}

export class Tape<T extends Tensor> {
  private backwards: (() => void)[] = [];
  /** Tensors this tape created (activations, gradients): freed by `reset`. */
  private owned: T[] = [];

  constructor(readonly backend: Backend<T>) {}

  /** Marks a tensor as a temporary of this step. */
  keep(t: T): T {
    this.owned.push(t);
    return t;
  }

  /**
   * Records an op: `value` is its output, `backward` reads the output's
   * gradient and calls `accumulate` on the inputs that need one. When no input
   * needs a gradient nothing is recorded, and nothing is kept for backward.
   */
  op(inputs: Variable<T>[], value: T, backward: (dy: T) => void): Variable<T> {
    const needsGrad = inputs.some((v) => v.requiresGrad);
    const out = new Variable(this.keep(value), needsGrad);
    if (needsGrad) {
      this.backwards.push(() => {
        if (out.grad) backward(out.grad);
      });
    }
    return out;
  }

  /** Records a root op (a fused loss) whose backward needs no incoming gradient. */
  root(backward: () => void): void {
    this.backwards.push(backward);
  }

  /** grad += g: one tensor can feed two ops, so gradients add up. A gradient nobody needs (a constant's) is freed with the step. */
  accumulate(v: Variable<T>, g: T): void {
    if (!v.requiresGrad) {
      this.keep(g);
      return;
    }
    if (!v.grad) {
      v.grad = this.keep(g);
      return;
    }
    v.grad = this.keep(this.backend.add(v.grad, g));
    this.keep(g);
  }

  backward(): void {
    for (let i = this.backwards.length - 1; i >= 0; i--) this.backwards[i]();
  }

  /** Frees the step's temporaries (parameters' gradients included) and clears the tape. */
  reset(params: Iterable<Variable<T>> = []): void {
    for (const p of params) p.grad = null;
    for (const t of this.owned) this.backend.dispose(t);
    this.owned = [];
    this.backwards = [];
  }
}
