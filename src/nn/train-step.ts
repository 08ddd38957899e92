// One optimisation step on any backend: forward, fused loss, backward, update.
import type { Tensor } from '../kernels/backend.ts';
import type { Optimizer } from './optimizers.ts';
import type { Sequential } from './sequential.ts';
import { Variable, type Tape } from './tape.ts';

/**
 * Records one training step on `tape` and returns the batch's probabilities,
 * computed before the update (as Keras reports its training metrics). They
 * stay valid until the caller's `tape.reset(model.parameters())`, which frees
 * the step's activations and gradients.
 */
export function trainStep<T extends Tensor>(tape: Tape<T>, model: Sequential<T>, optimizer: Optimizer<T>, x: T, targets: T, step: number): T {
  const logits = model.forward(tape, new Variable(x, false), { training: true, step });
  const probs = model.loss(tape, logits, targets);
  tape.backward();
  optimizer.step();
  return probs;
}
