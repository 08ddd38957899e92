// Classification metrics from scores and true labels, for the report.
//
// Binary: "real" (label 1) is the positive class (REFERENCE.md); a score is the
// predicted probability of "real", and a sample is predicted real when
// score >= threshold. Ratios whose denominator is zero are defined as 0, as
// scikit-learn does with zero_division=0: precision with no positive
// predictions, recall with no real samples, fall-out with no not-real samples,
// F1 when precision + recall = 0, and a confusion-matrix row with no samples.
// The ROC's AUC alone is NaN when one class is absent: a curve through 0/0
// rates has no area, and NaN (null in JSON) says so instead of a fake 0 or 0.5.

/** Rows are the true class, columns the predicted class, as scikit-learn. */
export interface ConfusionMatrix {
  counts: number[][];
  /** Each row divided by its sum (the per-class recall on the diagonal); all-zero rows stay 0. */
  normalized: number[][];
}

export interface BinaryMetrics {
  threshold: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** Fall-out, the false positive rate: FP / (FP + TN). */
  fpr: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** Class 0 = not real, 1 = real: [[TN, FP], [FN, TP]]. */
  confusion: ConfusionMatrix;
}

export interface RocPoint {
  /** Samples with score >= threshold are predicted real; +Infinity for the (0, 0) corner. */
  threshold: number;
  fpr: number;
  tpr: number;
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Number of samples whose true class this is. */
  support: number;
}

export interface MulticlassMetrics {
  accuracy: number;
  perClass: ClassMetrics[];
  /** Unweighted means over the classes that occur among the true or predicted labels (scikit-learn's default label set). */
  macro: { precision: number; recall: number; f1: number };
  confusion: ConfusionMatrix;
}

export const DEFAULT_THRESHOLD = 0.5;
/** The paper's recall (REFERENCE.md: 96.43% initial, 96.51% tuned). */
export const DEFAULT_RECALL_TARGET = 0.965;

const ratio = (num: number, den: number) => (den === 0 ? 0 : num / den);
const harmonicMean = (p: number, r: number) => ratio(2 * p * r, p + r);

function checkBinary(scores: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (scores.length !== labels.length) throw new Error(`metrics: ${scores.length} scores but ${labels.length} labels`);
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new Error(`metrics: score ${i} is ${scores[i]}`);
    if (labels[i] !== 0 && labels[i] !== 1) throw new Error(`metrics: binary label ${i} is ${labels[i]}, expected 0 or 1`);
  }
}

export function confusionMatrix(labels: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): ConfusionMatrix {
  if (labels.length !== predicted.length) throw new Error(`metrics: ${labels.length} labels but ${predicted.length} predictions`);
  const counts = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const [t, p] = [labels[i], predicted[i]];
    if (!Number.isInteger(t) || t < 0 || t >= classes) throw new Error(`metrics: label ${i} is ${t}, expected 0..${classes - 1}`);
    if (!Number.isInteger(p) || p < 0 || p >= classes) throw new Error(`metrics: prediction ${i} is ${p}, expected 0..${classes - 1}`);
    counts[t][p]++;
  }
  const normalized = counts.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((c) => ratio(c, total));
  });
  return { counts, normalized };
}

function binaryFromCounts(threshold: number, tp: number, fp: number, tn: number, fn: number): BinaryMetrics {
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  const counts = [
    [tn, fp],
    [fn, tp],
  ];
  return {
    threshold,
    accuracy: ratio(tp + tn, tp + fp + tn + fn),
    precision,
    recall,
    f1: harmonicMean(precision, recall),
    fpr: ratio(fp, fp + tn),
    tp,
    fp,
    tn,
    fn,
    confusion: { counts, normalized: counts.map(([a, b]) => [ratio(a, a + b), ratio(b, a + b)]) },
  };
}

/** Binary metrics with samples predicted real when score >= threshold. */
export function binaryMetrics(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold = DEFAULT_THRESHOLD): BinaryMetrics {
  checkBinary(scores, labels);
  let [tp, fp, tn, fn] = [0, 0, 0, 0];
  for (let i = 0; i < scores.length; i++) {
    const real = labels[i] === 1;
    if (scores[i] >= threshold) {
      if (real) tp++;
      else fp++;
    } else if (real) fn++;
    else tn++;
  }
  return binaryFromCounts(threshold, tp, fp, tn, fn);
}

/** Running TP/FP counts at each distinct score, highest first: the ROC and the recall search both walk it. */
function thresholdSweep(scores: ArrayLike<number>, labels: ArrayLike<number>) {
  checkBinary(scores, labels);
  const order = Array.from(scores, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i];
  const negatives = labels.length - positives;
  const steps: { threshold: number; tp: number; fp: number }[] = [];
  let [tp, fp] = [0, 0];
  for (let k = 0; k < order.length; k++) {
    if (labels[order[k]] === 1) tp++;
    else fp++;
    // Tied scores cross any threshold together, so only the last of a run of ties ends a step.
    if (k + 1 === order.length || scores[order[k + 1]] !== scores[order[k]]) steps.push({ threshold: scores[order[k]], tp, fp });
  }
  return { steps, positives, negatives };
}

/**
 * ROC from continuous scores: the (0, 0) corner at threshold +Infinity, then
 * one point per distinct score, highest first, ending at (1, 1). A run of tied
 * scores moves as one, so mixed-label ties give a diagonal segment.
 */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): RocPoint[] {
  const { steps, positives, negatives } = thresholdSweep(scores, labels);
  return [{ threshold: Infinity, fpr: 0, tpr: 0 }, ...steps.map((s) => ({ threshold: s.threshold, fpr: ratio(s.fp, negatives), tpr: ratio(s.tp, positives) }))];
}

/**
 * Area under an ROC curve by the trapezoid rule; for the curve from rocCurve
 * this equals the Mann-Whitney probability that a real sample scores above a
 * not-real one, ties counting 1/2. NaN when either class is absent.
 */
export function rocAuc(curve: readonly RocPoint[]): number {
  const last = curve[curve.length - 1];
  if (curve.length < 2 || last.fpr !== 1 || last.tpr !== 1) return NaN;
  let area = 0;
  for (let k = 1; k < curve.length; k++) area += ((curve[k].fpr - curve[k - 1].fpr) * (curve[k].tpr + curve[k - 1].tpr)) / 2;
  return area;
}

/**
 * The operating point for a recall target: the highest threshold (one of the
 * scores) whose recall reaches the target, which is also the one with the
 * lowest fall-out among those that reach it. Throws when there is no real
 * sample, as no threshold then has a recall.
 */
export function thresholdForRecall(scores: ArrayLike<number>, labels: ArrayLike<number>, target = DEFAULT_RECALL_TARGET): BinaryMetrics {
  if (!(target > 0 && target <= 1)) throw new Error(`metrics: recall target must be in (0, 1], got ${target}`);
  const { steps, positives, negatives } = thresholdSweep(scores, labels);
  if (positives === 0) throw new Error('metrics: no real sample, so no threshold reaches a recall target');
  // The last step predicts every sample real (recall 1), so the search always ends.
  const s = steps.find((step) => step.tp / positives >= target)!;
  return binaryFromCounts(s.threshold, s.tp, s.fp, negatives - s.fp, positives - s.tp);
}

/** Index of the largest entry of each row of an N×classes row-major array (the first on ties). */
export function argmaxRows(probabilities: ArrayLike<number>, classes: number): Int32Array {
  if (probabilities.length % classes !== 0) throw new Error(`metrics: ${probabilities.length} probabilities is not a multiple of ${classes} classes`);
  const out = new Int32Array(probabilities.length / classes);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probabilities[i * classes + c] > probabilities[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** Per-class precision, recall and F1, their macro averages, accuracy and the confusion matrix. */
export function multiclassMetrics(labels: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): MulticlassMetrics {
  const confusion = confusionMatrix(labels, predicted, classes);
  const { counts } = confusion;
  let correct = 0;
  const perClass: ClassMetrics[] = [];
  const present: ClassMetrics[] = [];
  for (let c = 0; c < classes; c++) {
    correct += counts[c][c];
    const support = counts[c].reduce((a, b) => a + b, 0);
    const predictedAs = counts.reduce((a, row) => a + row[c], 0);
    const precision = ratio(counts[c][c], predictedAs);
    const recall = ratio(counts[c][c], support);
    const m = { precision, recall, f1: harmonicMean(precision, recall), support };
    perClass.push(m);
    if (support + predictedAs > 0) present.push(m);
  }
  const mean = (key: 'precision' | 'recall' | 'f1') => ratio(present.reduce((a, m) => a + m[key], 0), present.length);
  return {
    accuracy: ratio(correct, labels.length),
    perClass,
    macro: { precision: mean('precision'), recall: mean('recall'), f1: mean('f1') },
    confusion,
  };
}
