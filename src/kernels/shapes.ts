// Operand checks and output shapes shared by the GPU dispatchers and the CPU
// references, so that both refuse the same inputs with the same message and
// the references stay references only.
import type { Conv2dOptions, Pool2dOptions, Tensor } from './backend.ts';

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

/** The paper's convolutions: 'same', stride 1. */
export const SAME_STRIDE_1: Conv2dOptions = { strides: [1, 1], padding: 'same' };
/** The paper's pooling: 2×2, stride 2, 'same'. */
export const POOL_2X2_SAME: Pool2dOptions = { size: [2, 2], strides: [2, 2], padding: 'same' };

/**
 * Where a K×K window steps over an H×W image, by TF's rule: output size
 * ⌈(H − K + 1)/S⌉ for 'valid' and ⌈H/S⌉ for 'same', whose padding
 * max((Ho − 1)·S + K − H, 0) splits with the smaller half on top (left):
 * input row of output row oh and window row kh = oh·S + kh − padTop.
 */
export interface Window2d {
  H: number;
  W: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  Ho: number;
  Wo: number;
  padTop: number;
  padLeft: number;
}

export function window2d(op: string, H: number, W: number, [KH, KW]: readonly [number, number], { strides: [SH, SW], padding }: Conv2dOptions): Window2d {
  for (const [name, v] of [['kernel height', KH], ['kernel width', KW], ['stride', SH], ['stride', SW]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${name} ${v} is not a positive integer`);
  }
  if (padding !== 'valid' && padding !== 'same') throw new Error(`${op}: padding ${JSON.stringify(padding)} is neither 'valid' nor 'same'`);
  const along = (size: number, K: number, S: number): [number, number] => {
    if (padding === 'valid') return [Math.ceil((size - K + 1) / S), 0];
    const out = Math.ceil(size / S);
    return [out, Math.floor(Math.max((out - 1) * S + K - size, 0) / 2)];
  };
  const [Ho, padTop] = along(H, KH, SH);
  const [Wo, padLeft] = along(W, KW, SW);
  if (Ho < 1 || Wo < 1) throw new Error(`${op}: a ${KH}×${KW} '${padding}' window does not fit a ${H}×${W} input`);
  return { H, W, KH, KW, SH, SW, Ho, Wo, padTop, padLeft };
}

/** A convolution's window for its backward passes: dy (N×Ho×Wo×F) must be the output of an x of `xShape`. */
export function convBackwardWindow(op: string, xShape: readonly number[], dyShape: readonly number[], kernel: readonly [number, number], conv: Conv2dOptions): Window2d {
  const win = window2d(op, xShape[1], xShape[2], kernel, conv);
  if (dyShape[1] !== win.Ho || dyShape[2] !== win.Wo) throw new Error(`${op}: dy [${dyShape.join(', ')}] is not the ${win.Ho}×${win.Wo} output of x [${xShape.join(', ')}]`);
  return win;
}

/** N×H×W×C → N×Ho×Wo×C for a pooling window. */
export function pooledShape(xShape: readonly number[], pool: Pool2dOptions): number[] {
  if (xShape.length !== 4) throw new Error(`pool2d: x must be N×H×W×C, got [${xShape.join(', ')}]`);
  const [N, H, W, C] = xShape;
  const w = window2d('pool2d', H, W, pool.size, pool);
  return [N, w.Ho, w.Wo, C];
}

/** add and mul refuse operands of different shapes (there is no broadcasting). */
export function assertSameShape(a: Tensor, b: Tensor, what = 'add'): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${what}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
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

/** Two operands that an op pairs value for value (x and dy, y and dy, a moving average and its value) have one shape. */
export function assertShapesMatch(op: string, [aName, a]: [string, Tensor], [bName, b]: [string, Tensor]): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: ${aName} [${a.shape.join(', ')}] and ${bName} [${b.shape.join(', ')}] must have one shape`);
  }
}

/** An op along the last axis (softmax over channels or classes): x's rows and that axis's length C ≥ 1. */
export function lastAxis(op: string, x: Tensor): { rows: number; channels: number } {
  const channels = x.shape[x.shape.length - 1];
  if (!(channels >= 1)) throw new Error(`${op}: x [${x.shape.join(', ')}] has no last axis to run along`);
  return { rows: sizeOf(x) / channels, channels };
}

/** The activations of backend.ts's HiddenActivation: an untyped caller's other name is refused, not run as one of them. */
export function assertHiddenActivation(op: string, kind: string): void {
  if (!['tanh', 'sigmoid', 'softmax'].includes(kind)) throw new Error(`${op}: activation ${JSON.stringify(kind)} is none of tanh, sigmoid, softmax`);
}

/**
 * BatchNormalization's x is N×C or N×H×W×C (channels last, no empty axis)
 * and each per-channel operand is [C]: the count per channel M (the rows)
 * and C.
 */
export function batchNormDims(op: string, x: Tensor, perChannel: Record<string, Tensor>): { rows: number; channels: number } {
  if ((x.shape.length !== 2 && x.shape.length !== 4) || x.shape.some((d) => d < 1)) {
    throw new Error(`${op}: x [${x.shape.join(', ')}] must be N×C or N×H×W×C`);
  }
  const channels = x.shape[x.shape.length - 1];
  for (const [name, t] of Object.entries(perChannel)) {
    if (t.shape.length !== 1 || t.shape[0] !== channels) {
      throw new Error(`${op}: ${name} [${t.shape.join(', ')}] must be [${channels}], one value per channel of x [${x.shape.join(', ')}]`);
    }
  }
  return { rows: sizeOf(x) / channels, channels };
}

/** Concatenation over the last axis: every other axis agrees; the last ones add up. */
export function concatShape(shapes: readonly (readonly number[])[]): number[] {
  const [first] = shapes;
  const lead = first.slice(0, -1).join(', ');
  for (const s of shapes) if (s.length !== first.length || s.slice(0, -1).join(', ') !== lead) throw new Error(`concat: shapes [${first.join(', ')}] and [${s.join(', ')}] differ before the last axis`);
  return [...first.slice(0, -1), shapes.reduce((n, s) => n + s[s.length - 1], 0)];
}

/** Columns start..start+width of the last axis. */
export function sliceShape(shape: readonly number[], start: number, width: number): number[] {
  const last = shape[shape.length - 1];
  if (start < 0 || width <= 0 || start + width > last) throw new Error(`slice: columns ${start}..${start + width} of a last axis of ${last}`);
  return [...shape.slice(0, -1), width];
}
