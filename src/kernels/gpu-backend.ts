// The Backend on WebGPU: each primitive is one kernel family's dispatcher,
// bound to one engine.
import type { Backend } from './backend.ts';
import { concatLastAxis, sliceLastAxis } from './columns.ts';
import { activationBackward, activationForward, leakyReluBackward, leakyReluForward } from './activation.ts';
import { batchNormBackward, batchNormForward, batchNormStatistics, movingAverageUpdate } from './batchnorm.ts';
import { conv2dBackwardFilter, conv2dBackwardInput, conv2dForward } from './conv2d.ts';
import { sigmoid, sigmoidBinaryCrossEntropy, softmax, softmaxCrossEntropy } from './cross-entropy.ts';
import { denseBackwardInput, denseBackwardWeights, denseForward } from './dense.ts';
import { dropoutBackward, dropoutForward } from './dropout.ts';
import { add, mul } from './elementwise.ts';
import type { Engine, GpuTensor } from './engine.ts';
import { avgPool2dBackward, avgPool2dForward, maxPool2dBackward, maxPool2dForward } from './pool2d.ts';
import { adamUpdate, rmspropUpdate } from './optimizers.ts';

export function gpuBackend(g: Engine): Backend<GpuTensor> {
  return {
    name: 'gpu',
    fromArray: (data, shape) => g.upload(data, shape),
    empty: (shape) => g.empty(shape),
    write: (t, data) => g.write(t, data),
    toArray: async (t) => Float64Array.from(t.dtype === 'u32' ? await g.readU32(t) : await g.read(t)),
    readRange: async (t, start, count) => Float64Array.from(await g.readRange(t, start, count)),
    copy: (src, srcStart, dst, dstStart, count) => g.copy(src, srcStart, dst, dstStart, count),
    reshape: (t, shape) => t.reshape(shape),
    dispose: (t) => t.dispose(),
    flush: () => g.submit(),
    sync: () => g.sync(),
    inferenceBatch: (activationValues, requested) => g.inferenceBatch(activationValues, requested),
    add: (a, b) => add(g, a, b),
    concatLastAxis: (xs) => concatLastAxis(g, xs),
    sliceLastAxis: (x, start, width) => sliceLastAxis(g, x, start, width),
    mul: (a, b) => mul(g, a, b),
    conv2dForward: (x, w, b, conv) => conv2dForward(g, x, w, b, conv),
    conv2dBackwardInput: (dy, w, xShape, conv) => conv2dBackwardInput(g, dy, w, xShape, conv),
    conv2dBackwardFilter: (x, dy, kernel, conv) => conv2dBackwardFilter(g, x, dy, kernel, conv),
    maxPool2dForward: (x, pool) => maxPool2dForward(g, x, pool),
    maxPool2dBackward: (dy, argmax, xShape, pool) => maxPool2dBackward(g, dy, argmax, xShape, pool),
    avgPool2dForward: (x, pool) => avgPool2dForward(g, x, pool),
    avgPool2dBackward: (dy, xShape, pool) => avgPool2dBackward(g, dy, xShape, pool),
    batchNormStatistics: (x) => batchNormStatistics(g, x),
    batchNormForward: (x, mean, variance, gamma, beta, epsilon) => batchNormForward(g, x, mean, variance, gamma, beta, epsilon),
    batchNormBackward: (x, dy, mean, variance, gamma, epsilon) => batchNormBackward(g, x, dy, mean, variance, gamma, epsilon),
    movingAverageUpdate: (moving, value, momentum, scale) => movingAverageUpdate(g, moving, value, momentum, scale),
    denseForward: (x, w, b) => denseForward(g, x, w, b),
    denseBackwardInput: (dy, w) => denseBackwardInput(g, dy, w),
    denseBackwardWeights: (x, dy) => denseBackwardWeights(g, x, dy),
    leakyReluForward: (x, alpha) => leakyReluForward(g, x, alpha),
    leakyReluBackward: (x, dy, alpha) => leakyReluBackward(g, x, dy, alpha),
    activationForward: (x, kind) => activationForward(g, x, kind),
    activationBackward: (y, dy, kind) => activationBackward(g, y, dy, kind),
    softmax: (logits) => softmax(g, logits),
    sigmoid: (logits) => sigmoid(g, logits),
    softmaxCrossEntropy: (logits, onehot, loss) => softmaxCrossEntropy(g, logits, onehot, loss),
    sigmoidBinaryCrossEntropy: (logits, targets, loss) => sigmoidBinaryCrossEntropy(g, logits, targets, loss),
    dropoutForward: (x, rate, seed, step) => dropoutForward(g, x, rate, seed, step),
    dropoutBackward: (dy, rate, seed, step) => dropoutBackward(g, dy, rate, seed, step),
    rmspropUpdate: (param, grad, acc, h) => rmspropUpdate(g, param, grad, acc, h),
    adamUpdate: (param, grad, m, v, h) => adamUpdate(g, param, grad, m, v, h),
  };
}
