// CPU references for shaders/activation.wgsl (and the hidden sigmoid and
// softmax, cross-entropy.ref.ts's), in float64.
import type { HiddenActivation } from './backend.ts';
import { CpuTensor } from './cpu-tensor.ts';
import { sigmoid, softmax } from './cross-entropy.ref.ts';
import { assertHiddenActivation, assertShapesMatch, lastAxis } from './shapes.ts';

export function leakyReluForward(x: CpuTensor, alpha: number): CpuTensor {
  const y = new CpuTensor(x.shape);
  for (let i = 0; i < x.size; i++) y.data[i] = x.data[i] > 0 ? x.data[i] : alpha * x.data[i];
  return y;
}

export function leakyReluBackward(x: CpuTensor, dy: CpuTensor, alpha: number): CpuTensor {
  const dx = new CpuTensor(x.shape);
  for (let i = 0; i < x.size; i++) dx.data[i] = x.data[i] > 0 ? dy.data[i] : alpha * dy.data[i];
  return dx;
}

export function activationForward(x: CpuTensor, kind: HiddenActivation): CpuTensor {
  assertHiddenActivation('activationForward', kind);
  const { rows, channels } = lastAxis('activationForward', x);
  if (kind === 'tanh') return new CpuTensor(x.shape, x.data.map(Math.tanh));
  const asRows = new CpuTensor([rows, channels], x.data);
  return new CpuTensor(x.shape, (kind === 'softmax' ? softmax(asRows) : sigmoid(asRows)).data);
}

export function activationBackward(y: CpuTensor, dy: CpuTensor, kind: HiddenActivation): CpuTensor {
  assertHiddenActivation('activationBackward', kind);
  assertShapesMatch('activationBackward', ['y', y], ['dy', dy]);
  const { rows, channels } = lastAxis('activationBackward', y);
  const dx = new CpuTensor(y.shape);
  if (kind === 'softmax') {
    for (let r = 0; r < rows; r++) {
      const base = r * channels;
      let s = 0;
      for (let j = 0; j < channels; j++) s += dy.data[base + j] * y.data[base + j];
      for (let j = 0; j < channels; j++) dx.data[base + j] = y.data[base + j] * (dy.data[base + j] - s);
    }
    return dx;
  }
  for (let i = 0; i < y.size; i++) {
    const v = y.data[i];
    dx.data[i] = dy.data[i] * (kind === 'tanh' ? 1 - v * v : v * (1 - v));
  }
  return dx;
}
