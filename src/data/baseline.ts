// The pixel baseline a CNN must clearly beat: logistic regression on the
// central 9×9 pixels of every channel (243 values for a colour cutout, the
// candidate and its immediate surroundings; the whole width or height when an
// image is smaller than 9; uint8 pixels / 255, float pixels as they are), fitted by Newton's method (iteratively reweighted
// least squares) with a small L2 penalty. If it came close to a CNN, the data
// would be too easy to say anything about the network.
import { valuesPerSample, type Dataset } from './dataset.ts';

export const BASELINE_WINDOW = 9;
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

/** The central window of a dataset's images: its first row and column, its size, and the features it gives. */
function centreWindow(dataset: Dataset) {
  const [height, width, channels] = dataset.shape;
  const rows = Math.min(BASELINE_WINDOW, height);
  const cols = Math.min(BASELINE_WINDOW, width);
  return { top: Math.floor((height - rows) / 2), left: Math.floor((width - cols) / 2), rows, cols, features: rows * cols * channels };
}

/** The central window of one cutout, as features (uint8 / 255, float as it is). */
function features(dataset: Dataset, index: number, out: Float64Array): void {
  const [, width, channels] = dataset.shape;
  const { top, left, rows, cols } = centreWindow(dataset);
  const divisor = dataset.images instanceof Uint8Array ? 255 : 1;
  const base = index * valuesPerSample(dataset.shape);
  let f = 0;
  for (let y = top; y < top + rows; y++) {
    for (let x = left; x < left + cols; x++) {
      const p = base + (y * width + x) * channels;
      for (let c = 0; c < channels; c++) out[f++] = dataset.images[p + c] / divisor;
    }
  }
}

/** Standardised design matrix with a leading 1 per row. */
function design(dataset: Dataset, indices: ArrayLike<number>, mean: Float64Array, scale: Float64Array): Float64Array {
  const featureCount = mean.length;
  const row = new Float64Array(featureCount);
  const x = new Float64Array(indices.length * (featureCount + 1));
  for (let i = 0; i < indices.length; i++) {
    features(dataset, indices[i], row);
    const base = i * (featureCount + 1);
    x[base] = 1;
    for (let f = 0; f < featureCount; f++) x[base + 1 + f] = (row[f] - mean[f]) / scale[f];
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
  const featureCount = centreWindow(dataset).features;
  const d = featureCount + 1;
  const mean = new Float64Array(featureCount);
  const scale = new Float64Array(featureCount);
  const row = new Float64Array(featureCount);
  for (let i = 0; i < n; i++) {
    features(dataset, indices[i], row);
    for (let f = 0; f < featureCount; f++) {
      mean[f] += row[f];
      scale[f] += row[f] * row[f];
    }
  }
  for (let f = 0; f < featureCount; f++) {
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
  if (model.mean.length !== centreWindow(dataset).features) throw new RangeError(`scorePixelBaseline: the baseline takes ${model.mean.length} features, ${dataset.source}'s centre window gives ${centreWindow(dataset).features}`);
  const x = design(dataset, indices, model.mean, model.scale);
  const d = model.mean.length + 1;
  return Float64Array.from({ length: indices.length }, (_, i) => {
    let z = 0;
    for (let f = 0; f < d; f++) z += x[i * d + f] * model.weights[f];
    return sigmoid(z);
  });
}
