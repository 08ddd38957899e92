// Calibration of real-or-bogus scores: how far a score of 0.8 is from "80% of
// such candidates are real". The expected calibration error bins the scores
// p_real into 15 equal-width bins over [0, 1] (Guo et al. 2017's count; a
// score of exactly 1 falls in the last bin) and weighs each bin's
// |mean score − fraction real| by its share of the samples: the calibration
// of the positive class, which is what a threshold on p_real relies on. The
// Brier score is the mean of (p_real − y)².
//
// Temperature scaling (Guo et al. 2017) divides the logits by one T > 0 fitted
// on the validation split: T > 1 softens over-confident scores, and no
// ranking changes (the ROC and its AUC stay as they were). The logits are
// recovered from the probabilities in float64: logit(p) for a sigmoid, log p
// for a softmax (its logits up to a constant per row, which softmax ignores).

/** ECE's bin count. */
export const CALIBRATION_BINS = 15;

export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean score and fraction real of the bin's samples (0 when it is empty). */
  meanScore: number;
  fractionReal: number;
}

export interface Calibration {
  ece: number;
  brier: number;
  bins: ReliabilityBin[];
}

/** ECE, Brier score and the reliability diagram's bins of scores p_real against 0/1 truth. */
export function calibration(scores: ArrayLike<number>, truth: ArrayLike<number>, binCount = CALIBRATION_BINS): Calibration {
  if (scores.length !== truth.length) throw new Error(`calibration: ${scores.length} scores but ${truth.length} labels`);
  const sums = Array.from({ length: binCount }, () => ({ count: 0, score: 0, real: 0 }));
  let brier = 0;
  for (let i = 0; i < scores.length; i++) {
    const b = sums[Math.min(Math.floor(scores[i] * binCount), binCount - 1)];
    b.count++;
    b.score += scores[i];
    b.real += truth[i];
    brier += (scores[i] - truth[i]) ** 2;
  }
  const n = scores.length;
  const bins = sums.map((b, k) => ({ lower: k / binCount, upper: (k + 1) / binCount, count: b.count, meanScore: b.count ? b.score / b.count : 0, fractionReal: b.count ? b.real / b.count : 0 }));
  const ece = bins.reduce((e, b) => e + (b.count / n) * Math.abs(b.meanScore - b.fractionReal), 0);
  return { ece, brier: brier / n, bins };
}

/** How far from 0 and 1 a float32 probability is taken before its logit: float32 resolves 1 − p to about 6e-8. */
const P_CLIP = 1e-7;
/** The floor of a softmax probability before its log: float32's smallest normal value. */
const P_FLOOR = 2 ** -126;

/** Logits (float64) behind probabilities `probs` (rows of `width`; 1 = sigmoid). */
export function logitsOf(probs: ArrayLike<number>, width: number): Float64Array {
  return Float64Array.from(probs, (p) => {
    if (width > 1) return Math.log(Math.max(p, P_FLOOR));
    const q = Math.min(Math.max(p, P_CLIP), 1 - P_CLIP);
    return Math.log(q / (1 - q));
  });
}

/** Probabilities from logits divided by `temperature`: σ(z/T), or softmax(z/T) per row. */
export function scaledProbabilities(logits: ArrayLike<number>, width: number, temperature: number): Float64Array {
  const out = new Float64Array(logits.length);
  if (width === 1) {
    for (let i = 0; i < logits.length; i++) out[i] = 1 / (1 + Math.exp(-logits[i] / temperature));
    return out;
  }
  for (let r = 0; r < logits.length; r += width) {
    let max = -Infinity;
    for (let c = 0; c < width; c++) max = Math.max(max, logits[r + c] / temperature);
    let sum = 0;
    for (let c = 0; c < width; c++) sum += out[r + c] = Math.exp(logits[r + c] / temperature - max);
    for (let c = 0; c < width; c++) out[r + c] /= sum;
  }
  return out;
}

/** Mean negative log-likelihood of class indices `labels` under logits/T. */
function nll(logits: ArrayLike<number>, labels: ArrayLike<number>, width: number, temperature: number): number {
  const p = scaledProbabilities(logits, width, temperature);
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const q = width === 1 ? (labels[i] === 1 ? p[i] : 1 - p[i]) : p[i * width + labels[i]];
    total -= Math.log(Math.max(q, Number.MIN_VALUE));
  }
  return total / labels.length;
}

/**
 * The temperature that minimises the mean NLL of `labels` (class indices;
 * 0/1 for a sigmoid) under logits/T. The NLL is convex in 1/T, so a golden-section
 * search over 1/T in [0.01, 100] (T from 0.01 to 100) finds its one minimum,
 * to about 1e-9 relative.
 */
export function fitTemperature(logits: ArrayLike<number>, labels: ArrayLike<number>, width: number): number {
  const f = (inverse: number) => nll(logits, labels, width, 1 / inverse);
  const phi = (Math.sqrt(5) - 1) / 2;
  let [a, b] = [0.01, 100];
  let [c, d] = [b - phi * (b - a), a + phi * (b - a)];
  let [fc, fd] = [f(c), f(d)];
  while (b - a > 1e-9 * (a + b)) {
    if (fc < fd) {
      [b, d, fd] = [d, c, fc];
      c = b - phi * (b - a);
      fc = f(c);
    } else {
      [a, c, fc] = [c, d, fd];
      d = a + phi * (b - a);
      fd = f(d);
    }
  }
  return 2 / (a + b);
}

/** Probabilities `probs` (rows of `width`) recalibrated by `temperature`, as float32 like the model's own. */
export function applyTemperature(probs: ArrayLike<number>, width: number, temperature: number): Float32Array {
  return Float32Array.from(scaledProbabilities(logitsOf(probs, width), width, temperature));
}
