// CPU references for shaders/batchnorm.wgsl, in float64: Keras
// BatchNormalization over the last axis (channels), value i of x in channel
// i mod C.
import { CpuTensor } from './cpu-tensor.ts';
import { assertShapesMatch, batchNormDims } from './shapes.ts';

export function batchNormStatistics(x: CpuTensor): { mean: CpuTensor; variance: CpuTensor } {
  const { rows, channels } = batchNormDims('batchNormStatistics', x, {});
  const mean = new CpuTensor([channels]);
  const variance = new CpuTensor([channels]);
  for (let i = 0; i < x.size; i++) mean.data[i % channels] += x.data[i] / rows;
  for (let i = 0; i < x.size; i++) variance.data[i % channels] += (x.data[i] - mean.data[i % channels]) ** 2 / rows;
  return { mean, variance };
}

export function batchNormForward(x: CpuTensor, mean: CpuTensor, variance: CpuTensor, gamma: CpuTensor, beta: CpuTensor, epsilon: number): CpuTensor {
  const { channels } = batchNormDims('batchNormForward', x, { mean, variance, gamma, beta });
  const y = new CpuTensor(x.shape);
  for (let i = 0; i < x.size; i++) {
    const c = i % channels;
    y.data[i] = (gamma.data[c] * (x.data[i] - mean.data[c])) / Math.sqrt(variance.data[c] + epsilon) + beta.data[c];
  }
  return y;
}

export function batchNormBackward(
  x: CpuTensor,
  dy: CpuTensor,
  mean: CpuTensor,
  variance: CpuTensor,
  gamma: CpuTensor,
  epsilon: number,
): { dx: CpuTensor; dgamma: CpuTensor; dbeta: CpuTensor } {
  const { rows, channels } = batchNormDims('batchNormBackward', x, { mean, variance, gamma });
  assertShapesMatch('batchNormBackward', ['x', x], ['dy', dy]);
  const invStd = variance.data.map((v) => 1 / Math.sqrt(v + epsilon));
  const xhat = (i: number) => (x.data[i] - mean.data[i % channels]) * invStd[i % channels];
  const dgamma = new CpuTensor([channels]);
  const dbeta = new CpuTensor([channels]);
  for (let i = 0; i < x.size; i++) {
    dbeta.data[i % channels] += dy.data[i];
    dgamma.data[i % channels] += dy.data[i] * xhat(i);
  }
  const dx = new CpuTensor(x.shape);
  for (let i = 0; i < x.size; i++) {
    const c = i % channels;
    dx.data[i] = gamma.data[c] * invStd[c] * (dy.data[i] - dbeta.data[c] / rows - (xhat(i) * dgamma.data[c]) / rows);
  }
  return { dx, dgamma, dbeta };
}

/** In place on `moving`. */
export function movingAverageUpdate(moving: CpuTensor, value: CpuTensor, momentum: number, scale: number): void {
  assertShapesMatch('movingAverageUpdate', ['moving', moving], ['value', value]);
  for (let i = 0; i < moving.size; i++) moving.data[i] = momentum * moving.data[i] + (1 - momentum) * scale * value.data[i];
}
