// The Backend on the CPU reference kernels (float64): the yardstick that
// finite differences check and the GPU is compared against.
import type { Backend } from './backend.ts';
import { concatLastAxis, sliceLastAxis } from './columns.ref.ts';
import { activationBackward, activationForward, leakyReluBackward, leakyReluForward } from './activation.ref.ts';
import { batchNormBackward, batchNormForward, batchNormStatistics, movingAverageUpdate } from './batchnorm.ref.ts';
import { conv2dBackwardFilter, conv2dBackwardInput, conv2dForward } from './conv2d.ref.ts';
import { CpuTensor } from './cpu-tensor.ts';
import { DEFAULT_INFERENCE_BATCH } from './engine.ts';
import { sigmoid, sigmoidBinaryCrossEntropy, softmax, softmaxCrossEntropy } from './cross-entropy.ref.ts';
import { denseBackwardInput, denseBackwardWeights, denseForward } from './dense.ref.ts';
import { dropoutBackward, dropoutForward } from './dropout.ref.ts';
import { add, mul } from './elementwise.ref.ts';
import { avgPool2dBackward, avgPool2dForward, maxPool2dBackward, maxPool2dForward } from './pool2d.ref.ts';
import { adamUpdate, rmspropUpdate } from './optimizers.ref.ts';

export const cpuBackend: Backend<CpuTensor> = {
  name: 'cpu',
  fromArray: (data, shape) => CpuTensor.from(data, shape),
  empty: (shape) => new CpuTensor(shape),
  write: (t, data) => t.data.set(data),
  toArray: async (t) => Float64Array.from(t.data),
  readRange: async (t, start, count) => t.data.slice(start, start + count),
  copy: (src, srcStart, dst, dstStart, count) => dst.data.set(src.data.subarray(srcStart, srcStart + count), dstStart),
  reshape: (t, shape) => new CpuTensor(shape, t.data),
  dispose: () => {},
  flush: () => {},
  sync: async () => {},
  inferenceBatch: (_, requested) => requested ?? DEFAULT_INFERENCE_BATCH,
  add,
  concatLastAxis,
  sliceLastAxis,
  mul,
  conv2dForward,
  conv2dBackwardInput,
  conv2dBackwardFilter,
  maxPool2dForward,
  maxPool2dBackward,
  avgPool2dForward,
  avgPool2dBackward,
  batchNormStatistics,
  batchNormForward,
  batchNormBackward,
  movingAverageUpdate,
  denseForward,
  denseBackwardInput,
  denseBackwardWeights,
  leakyReluForward,
  leakyReluBackward,
  activationForward,
  activationBackward,
  softmax,
  sigmoid,
  softmaxCrossEntropy,
  sigmoidBinaryCrossEntropy,
  dropoutForward,
  dropoutBackward,
  rmspropUpdate,
  adamUpdate,
};
