// Where Handscan's layouts and ONNX's differ: activations channels last
// (N×H×W×C) against ONNX's channels-first operators (N×C×H×W), conv kernels
// KH×KW×C×F against F×C×KH×KW, and TF's 'same' padding against ONNX's
// explicit pads. Export and import share these, so that one is the inverse
// of the other.
import type { Window2d } from '../kernels/shapes.ts';

export type Layout = 'nhwc' | 'nchw';
export const LAYOUTS: readonly Layout[] = ['nhwc', 'nchw'];

/** The Transpose perm that turns an activation of one layout into the other. */
export const TO_NCHW = [0, 3, 1, 2] as const;
export const TO_NHWC = [0, 2, 3, 1] as const;

/** Handscan's conv kernel KH×KW×C×F as ONNX's F×C×KH×KW, and back. */
export const KERNEL_TO_ONNX = [3, 2, 0, 1] as const;
export const KERNEL_FROM_ONNX = [2, 3, 1, 0] as const;

/** A row-major tensor of `shape` transposed as numpy's transpose(perm): axis i of the result is axis perm[i] of the input. */
export function permute(values: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const strides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; s *= shape[i], i--) strides[i] = s;
  const out = new Float32Array(values.length);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let from = 0;
    for (let i = 0; i < rank; i++) from += index[i] * strides[perm[i]];
    out[o] = values[from];
    for (let i = rank - 1; i >= 0 && ++index[i] === outShape[i]; i--) index[i] = 0;
  }
  return out;
}

/** A window's padding as ONNX's pads [top, left, bottom, right]: TF's 'same' puts the odd cell at the bottom and right. */
export function onnxPads(w: Window2d): [number, number, number, number] {
  const bottom = Math.max((w.Ho - 1) * w.SH + w.KH - w.H - w.padTop, 0);
  const right = Math.max((w.Wo - 1) * w.SW + w.KW - w.W - w.padLeft, 0);
  return [w.padTop, w.padLeft, bottom, right];
}
