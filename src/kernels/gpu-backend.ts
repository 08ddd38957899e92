// The Backend on WebGPU: each primitive is one kernel family's dispatcher.
import type { Backend } from './backend.ts';
import { leakyReluBackward, leakyReluForward } from './activation.ts';
import { conv2dBackwardFilter, conv2dBackwardInput, conv2dForward } from './conv2d.ts';
import { sigmoid, sigmoidBinaryCrossEntropy, softmax, softmaxCrossEntropy } from './cross-entropy.ts';
import { denseBackwardInput, denseBackwardWeights, denseForward } from './dense.ts';
import { dropoutBackward, dropoutForward } from './dropout.ts';
import { add } from './elementwise.ts';
import { maxPool2dBackward, maxPool2dForward } from './maxpool2d.ts';
import { adamUpdate, rmspropUpdate } from './optimizers.ts';
import { gpu, type GpuTensor } from './runtime.ts';

export const gpuBackend: Backend<GpuTensor> = {
  name: 'gpu',
  fromArray: (data, shape) => gpu().upload(data, shape),
  write: (t, data) => gpu().write(t, data),
  toArray: async (t) => Float64Array.from(t.dtype === 'u32' ? await gpu().readU32(t) : await gpu().read(t)),
  reshape: (t, shape) => t.reshape(shape),
  dispose: (t) => t.dispose(),
  flush: () => gpu().submit(),
  add,
  conv2dForward,
  conv2dBackwardInput,
  conv2dBackwardFilter,
  maxPool2dForward,
  maxPool2dBackward,
  denseForward,
  denseBackwardInput,
  denseBackwardWeights,
  leakyReluForward,
  leakyReluBackward,
  softmax,
  sigmoid,
  softmaxCrossEntropy,
  sigmoidBinaryCrossEntropy,
  dropoutForward,
  dropoutBackward,
  rmspropUpdate,
  adamUpdate,
};
