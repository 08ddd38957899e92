// Operand checks and output shapes shared by the GPU dispatchers and the CPU
// references, so that both refuse the same inputs with the same message and
// the references stay references only.
import type { Tensor } from './backend.ts';

/**
 * Reads each operand's shape as the letters it is named by ('NK' for x) and
 * returns their sizes; throws when an operand has the wrong rank or two
 * operands disagree on a letter.
 */
export function denseDims(op: string, operands: [letters: string, shape: readonly number[]][]): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const [letters, shape] of operands) {
    if (shape.length !== letters.length || [...letters].some((l, i) => (dims[l] ??= shape[i]) !== shape[i])) {
      const list = operands.map(([l, s]) => `${[...l].join('×')} = [${s.join(', ')}]`).join(', ');
      throw new Error(`${op}: operand shapes ${list} do not agree`);
    }
  }
  return dims;
}

/** N×H×W×C → N×⌈H/2⌉×⌈W/2⌉×C: TF 'same' pooling pads odd sizes at the end. */
export function pooledShape(xShape: readonly number[]): number[] {
  if (xShape.length !== 4) throw new Error(`maxPool2d: x must be N×H×W×C, got [${xShape.join(', ')}]`);
  const [N, H, W, C] = xShape;
  return [N, Math.ceil(H / 2), Math.ceil(W / 2), C];
}

/** add refuses operands of different shapes (there is no broadcasting). */
export function assertSameShape(a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`add: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  }
}

/** Logits and their targets (or probabilities) are the same N×C. */
export function assertSameRows(what: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== 2 || a.shape.join() !== b.shape.join()) {
    throw new Error(`${what}: [${a.shape}] and [${b.shape}] must be the same N×C`);
  }
}

const sizeOf = (t: Tensor) => t.shape.reduce((a, b) => a * b, 1);

/** An optimizer updates a parameter, its gradient and its state elementwise. */
export function assertSameSizes(what: string, tensors: Tensor[]): void {
  if (tensors.some((t) => sizeOf(t) !== sizeOf(tensors[0]))) {
    throw new Error(`${what}: param, grad and state sizes differ: ${tensors.map((t) => `[${t.shape}]`).join(' ')}`);
  }
}

/** Keras's Adam step count is 1-based. */
export function assertAdamStep(t: number): void {
  if (!Number.isInteger(t) || t < 1) throw new Error(`adamUpdate: step t = ${t} must be an integer ≥ 1`);
}

/** Dropout's rate is a probability below 1; its seed and step are u32 (they feed a u32 hash). */
export function assertDropout(rate: number, seed: number, step: number): void {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate ${rate} is outside [0, 1)`);
  for (const [name, v] of [['seed', seed], ['step', step]] as const) {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) throw new Error(`dropout: ${name} ${v} is not a u32`);
  }
}
