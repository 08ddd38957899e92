// One optimisation step on any backend: forward, fused loss, backward, update.
import type { Tensor } from '../kernels/backend.ts';
import type { Optimizer } from './optimizers.ts';
import { constantInputs, type Inputs, type Model } from './model.ts';
import { Variable, type Tape } from './tape.ts';

/**
 * Records one training step on `tape` and returns the batch's probabilities,
 * computed before the update (as Keras reports its training metrics). They
 * stay valid until the caller's `tape.reset(model.parameters())`, which frees
 * the step's activations and gradients.
 *
 * `weights` (the logits' shape: each sample's weight repeated over its row),
 * when given, weights each sample's loss term as Keras's sample_weight and
 * class_weight do: the loss becomes Σ wᵢ·lᵢ / N, so its gradient is the fused
 * loss's dlogits with row i scaled by wᵢ. The fused kernels stay as they are:
 * the loss sees a stand-in for the logits, and the scaled gradient flows on
 * to the real ones.
 */
export function trainStep<T extends Tensor>(tape: Tape<T>, model: Model<T>, optimizer: Optimizer<T>, x: Inputs<T>, targets: T, step: number, weights?: T): T {
  const logits = model.forward(tape, constantInputs(x), { training: true, step });
  let lossInput = logits;
  if (weights) {
    const standIn = new Variable(logits.value, logits.requiresGrad);
    // Recorded before the loss, so that backward runs it after the loss has set standIn.grad.
    tape.root(() => {
      if (standIn.grad) tape.accumulate(logits, tape.backend.mul(standIn.grad, weights));
    });
    lossInput = standIn;
  }
  const probs = model.loss(tape, lossInput, targets);
  tape.backward();
  optimizer.step();
  return probs;
}
