// CPU references for shaders/dense.wgsl, in float64: x N×K, w K×M, b M.
import { CpuTensor } from './cpu-tensor.ts';
import { denseDims } from './shapes.ts';

/** y[n][m] = b[m] + Σ_k x[n][k]·w[k][m]. */
export function denseForward(x: CpuTensor, w: CpuTensor, b: CpuTensor): CpuTensor {
  const { N, K, M } = denseDims('denseForward', [['NK', x.shape], ['KM', w.shape], ['M', b.shape]]);
  const y = new CpuTensor([N, M]);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      let sum = b.data[m];
      for (let k = 0; k < K; k++) sum += x.data[n * K + k] * w.data[k * M + m];
      y.data[n * M + m] = sum;
    }
  }
  return y;
}

/** dx[n][k] = Σ_m dy[n][m]·w[k][m]. */
export function denseBackwardInput(dy: CpuTensor, w: CpuTensor): CpuTensor {
  const { N, K, M } = denseDims('denseBackwardInput', [['NM', dy.shape], ['KM', w.shape]]);
  const dx = new CpuTensor([N, K]);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      for (let m = 0; m < M; m++) dx.data[n * K + k] += dy.data[n * M + m] * w.data[k * M + m];
    }
  }
  return dx;
}

/** dw[k][m] = Σ_n x[n][k]·dy[n][m], db[m] = Σ_n dy[n][m]. */
export function denseBackwardWeights(x: CpuTensor, dy: CpuTensor): { dw: CpuTensor; db: CpuTensor } {
  const { N, K, M } = denseDims('denseBackwardWeights', [['NK', x.shape], ['NM', dy.shape]]);
  const dw = new CpuTensor([K, M]);
  const db = new CpuTensor([M]);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      db.data[m] += dy.data[n * M + m];
      for (let k = 0; k < K; k++) dw.data[k * M + m] += x.data[n * K + k] * dy.data[n * M + m];
    }
  }
  return { dw, db };
}
