// The pixel baseline a CNN must clearly beat: logistic regression on the
// central 9×9 pixels of the three channels (243 values, the candidate and its
// immediate surroundings), fitted by Newton's method (iteratively reweighted
// least squares) with a small L2 penalty. If it came close to a CNN, the data
// would be too easy to say anything about the network.
import { CHANNELS, CUTOUT_SIZE, VALUES_PER_IMAGE, type Dataset } from './dataset.ts';

export const BASELINE_WINDOW = 9;
const FEATURES = BASELINE_WINDOW * BASELINE_WINDOW * CHANNELS;
/** L2 penalty on the standardised weights (not on the intercept). */
const RIDGE = 1e-2;
const ITERATIONS = 25;

export interface PixelBaseline {
  /** Per-feature mean and standard deviation of the training set, for standardising. */
  mean: Float64Array;
  scale: Float64Array;
  /** Intercept first, then one weight per feature. */
  weights: Float64Array;
}

/** The central window of one cutout, as features in [0, 1]. */
function features(dataset: Dataset, index: number, out: Float64Array): void {
  const first = (CUTOUT_SIZE - BASELINE_WINDOW) / 2;
  let f = 0;
  for (let y = first; y < first + BASELINE_WINDOW; y++) {
    for (let x = first; x < first + BASELINE_WINDOW; x++) {
      const p = index * VALUES_PER_IMAGE + (y * CUTOUT_SIZE + x) * CHANNELS;
      for (let c = 0; c < CHANNELS; c++) out[f++] = dataset.images[p + c] / 255;
    }
  }
}

/** Standardised design matrix with a leading 1 per row. */
function design(dataset: Dataset, indices: ArrayLike<number>, mean: Float64Array, scale: Float64Array): Float64Array {
  const row = new Float64Array(FEATURES);
  const x = new Float64Array(indices.length * (FEATURES + 1));
  for (let i = 0; i < indices.length; i++) {
    features(dataset, indices[i], row);
    const base = i * (FEATURES + 1);
    x[base] = 1;
    for (let f = 0; f < FEATURES; f++) x[base + 1 + f] = (row[f] - mean[f]) / scale[f];
  }
  return x;
}

/** Solves A v = b in place for a symmetric positive-definite A (Cholesky). */
function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
    const root = Math.sqrt(d);
    a[j * n + j] = root;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / root;
    }
  }
  const v = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) v[i] -= a[i * n + k] * v[k];
    v[i] /= a[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) v[i] -= a[k * n + i] * v[k];
    v[i] /= a[i * n + i];
  }
  return v;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Fits the baseline on `indices` with binary labels (`labels[i]` = 1 for real). */
export function fitPixelBaseline(dataset: Dataset, indices: ArrayLike<number>, labels: Uint8Array): PixelBaseline {
  const n = indices.length;
  const d = FEATURES + 1;
  const mean = new Float64Array(FEATURES);
  const scale = new Float64Array(FEATURES);
  const row = new Float64Array(FEATURES);
  for (let i = 0; i < n; i++) {
    features(dataset, indices[i], row);
    for (let f = 0; f < FEATURES; f++) {
      mean[f] += row[f];
      scale[f] += row[f] * row[f];
    }
  }
  for (let f = 0; f < FEATURES; f++) {
    mean[f] /= n;
    scale[f] = Math.sqrt(Math.max(scale[f] / n - mean[f] * mean[f], 0)) || 1;
  }
  const x = design(dataset, indices, mean, scale);
  const weights = new Float64Array(d);
  for (let iteration = 0; iteration < ITERATIONS; iteration++) {
    // Newton step: (Xᵀ W X + λI) Δ = Xᵀ (y − p) − λw, with W = p(1 − p).
    const hessian = new Float64Array(d * d);
    const gradient = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const base = i * d;
      let z = 0;
      for (let f = 0; f < d; f++) z += x[base + f] * weights[f];
      const p = sigmoid(z);
      const w = Math.max(p * (1 - p), 1e-10);
      const r = labels[indices[i]] - p;
      for (let f = 0; f < d; f++) {
        const xf = x[base + f];
        gradient[f] += xf * r;
        const wx = w * xf;
        for (let g = 0; g <= f; g++) hessian[f * d + g] += wx * x[base + g];
      }
    }
    for (let f = 0; f < d; f++) {
      for (let g = 0; g < f; g++) hessian[g * d + f] = hessian[f * d + g];
      if (f > 0) {
        hessian[f * d + f] += RIDGE * n;
        gradient[f] -= RIDGE * n * weights[f];
      }
    }
    const step = solve(hessian, gradient, d);
    let change = 0;
    for (let f = 0; f < d; f++) {
      weights[f] += step[f];
      change = Math.max(change, Math.abs(step[f]));
    }
    if (change < 1e-8) break;
  }
  return { mean, scale, weights };
}

/** Probability of "real" for each of `indices`. */
export function scorePixelBaseline(model: PixelBaseline, dataset: Dataset, indices: ArrayLike<number>): Float64Array {
  const x = design(dataset, indices, model.mean, model.scale);
  const d = FEATURES + 1;
  return Float64Array.from({ length: indices.length }, (_, i) => {
    let z = 0;
    for (let f = 0; f < d; f++) z += x[i * d + f] * model.weights[f];
    return sigmoid(z);
  });
}
