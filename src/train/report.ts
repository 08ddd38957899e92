// A run's report: every figure in report.json, the paper's table beside ours
// in report.md, and plots (training curves, ROC, confusion matrix).
import { join } from 'node:path';
import { classNames, realClasses, type LabelScheme } from '../data/labels.ts';
import { writeFileAtomic } from '../io/atomic-file.ts';
import { argmaxRows, binaryMetrics, multiclassMetrics, rocAuc, rocCurve, thresholdForRecall, type BinaryMetrics, type MulticlassMetrics, type RocPoint } from './metrics.ts';
import { calibration, type Calibration } from './calibration.ts';
import { plotConfusionMatrix, plotReliability, plotRoc, plotTrainingCurves, type EpochHistory } from './plots.ts';

/** Real-or-bogus figures: at threshold 0.5, at the recall target, and over all thresholds. */
export interface BinaryEvaluation extends BinaryMetrics {
  auc: number;
  atRecallTarget: BinaryMetrics & { recallTarget: number };
  /** The ROC, thinned to at most ~500 points for the JSON (the AUC uses every point). */
  roc: RocPoint[];
  /** ECE (15 bins), Brier score and the reliability diagram's bins (src/train/calibration.ts). */
  calibration: Calibration;
}

export interface Evaluation {
  samples: number;
  /** Loss and accuracy as training reports them (clipped cross-entropy, arg-max). */
  loss: number;
  /** Always present: for 3 or 10 classes, "real" is the sum of the real classes' probabilities. */
  binary: BinaryEvaluation;
  /** For the visual and original label schemes. */
  multiclass?: MulticlassMetrics & { classes: readonly string[] };
}

function thin(curve: RocPoint[], max = 500): RocPoint[] {
  if (curve.length <= max) return curve;
  const every = Math.ceil(curve.length / max);
  return curve.filter((_, i) => i % every === 0 || i === curve.length - 1);
}

/** Real-or-bogus figures from scores (probability of real) and 0/1 labels. */
export function binaryEvaluation(scores: ArrayLike<number>, truth: ArrayLike<number>, recallTarget: number): BinaryEvaluation {
  const curve = rocCurve(scores, truth);
  return {
    ...binaryMetrics(scores, truth),
    auc: rocAuc(curve),
    atRecallTarget: { ...thresholdForRecall(scores, truth, recallTarget), recallTarget },
    roc: thin(curve),
    calibration: calibration(scores, truth),
  };
}

/** All figures for predictions `probs` (N×classes, or N×1 p_real from a sigmoid head) of samples with class indices `labels`. */
export function evaluate(probs: Float32Array, labels: Int32Array, scheme: LabelScheme, recallTarget: number, loss: number): Evaluation {
  const names = classNames(scheme);
  const k = names.length;
  const real = realClasses(scheme);
  const sigmoid = probs.length === labels.length && k === 2;
  const scores = sigmoid ? Float64Array.from(probs) : Float64Array.from(labels, (_, i) => real.reduce((s, c) => s + probs[i * k + c], 0));
  const truth = Int32Array.from(labels, (y) => Number(real.includes(y)));
  const out: Evaluation = { samples: labels.length, loss, binary: binaryEvaluation(scores, truth, recallTarget) };
  if (scheme !== 'binary') out.multiclass = { ...multiclassMetrics(labels, argmaxRows(probs, k), k), classes: names };
  return out;
}

/** The paper's published test figures (REFERENCE.md). */
const PAPER = {
  initial: { accuracy: 0.9313, precision: 0.9583, recall: 0.9643, f1: 0.9613, fpr: 0.3186, auc: 0.82 },
  tuned: { accuracy: 0.9236, precision: 0.9493, recall: 0.9651, f1: 0.9571, fpr: 0.3912, auc: 0.79 },
};

export interface ReportInput {
  name: string;
  /** A built-in model's name, or the architecture file it was read from. */
  model: string;
  /** The preprocessing step (src/data/preprocess.ts) that made the network's input. */
  preprocess: string;
  scheme: LabelScheme;
  /** True when the data are the built-in simulated survey. */
  simulated: boolean;
  history: EpochHistory[];
  test: Evaluation;
  /** The pixel baseline (logistic regression on the central 9×9×3 pixels) on the same test set. */
  baseline?: BinaryEvaluation;
  /** Everything else that goes into report.json as is (options, adapter, timings, split sizes...). */
  details: Record<string, unknown>;
}

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(2)}%` : 'n/a');

function markdown(r: ReportInput): string {
  const b = r.test.binary;
  const t = b.atRecallTarget;
  const paper = PAPER[r.model as keyof typeof PAPER] as (typeof PAPER)['initial'] | undefined;
  const cell = (v: number | undefined) => (paper ? ` ${pct(v!)} |` : '');
  const dataNote = r.simulated
    ? 'Handscan\'s figures come from the built-in **simulated** SDSS-II survey, not the paper\'s sdss.hdf5: they are a different dataset, so the two columns show the method, not a head-to-head result.'
    : 'Both columns are test-set figures; check that the data are the paper\'s sdss.hdf5 before comparing them directly.';
  const lines = [
    `# Handscan report: ${r.name}`,
    '',
    `Model **${r.model}**, labels **${r.scheme}**, preprocessing **${r.preprocess}**, ${r.test.samples.toLocaleString('en-US')} test samples, best epoch ${r.details.bestEpoch ?? 'n/a'} of ${r.history.length}.`,
    '',
    '## Test set: real or bogus',
    '',
    ...(paper ? [dataNote, ''] : []),
    `| figure | Handscan (threshold 0.5) | Handscan (recall target ${r.test.binary.atRecallTarget.recallTarget}) |${paper ? ` paper, ${r.model} model |` : ''}`,
    `|---|---|---|${paper ? '---|' : ''}`,
    `| accuracy | ${pct(b.accuracy)} | ${pct(t.accuracy)} |${cell(paper?.accuracy)}`,
    `| precision | ${pct(b.precision)} | ${pct(t.precision)} |${cell(paper?.precision)}`,
    `| recall | ${pct(b.recall)} | ${pct(t.recall)} |${cell(paper?.recall)}`,
    `| F1 | ${pct(b.f1)} | ${pct(t.f1)} |${cell(paper?.f1)}`,
    `| fall-out (FPR) | ${pct(b.fpr)} | ${pct(t.fpr)} |${cell(paper?.fpr)}`,
    `| ROC AUC | ${b.auc.toFixed(4)} (from scores) | |${paper ? ` ${paper.auc} (from hard 0/1 predictions) |` : ''}`,
    '',
    ...(r.baseline
      ? [
          `Pixel baseline on the same test set (logistic regression on the central 9×9×3 pixels, fitted on the training split): accuracy ${pct(r.baseline.accuracy)}, AUC ${r.baseline.auc.toFixed(4)}, fall-out ${pct(r.baseline.atRecallTarget.fpr)} at recall ≥ ${r.baseline.atRecallTarget.recallTarget}. Always answering "real" would score ${pct((b.tp + b.fn) / r.test.samples)}.`,
          '',
        ]
      : []),
    `Threshold for recall ≥ ${t.recallTarget}: ${t.threshold.toFixed(4)}. Test loss ${r.test.loss.toFixed(4)}.`,
    '',
    `Calibration of p_real: expected calibration error ${b.calibration.ece.toFixed(4)} (15 equal-width bins), Brier score ${b.calibration.brier.toFixed(4)}${typeof r.details.temperature === 'number' ? `, after temperature scaling at T = ${r.details.temperature.toPrecision(4)} (fitted on the validation split${r.details.uncalibrated ? `; before it: ECE ${(r.details.uncalibrated as Calibration).ece.toFixed(4)}, Brier ${(r.details.uncalibrated as Calibration).brier.toFixed(4)}` : ''})` : ''}.`,
    '',
    'Confusion matrix at 0.5 (rows true, columns predicted):',
    '',
    '| | not real | real |',
    '|---|---|---|',
    `| not real | ${b.tn} | ${b.fp} |`,
    `| real | ${b.fn} | ${b.tp} |`,
    '',
  ];
  if (r.test.multiclass) {
    const m = r.test.multiclass;
    lines.push(`## Test set: ${m.classes.length} classes`, '', `Accuracy ${pct(m.accuracy)}; macro precision ${pct(m.macro.precision)}, recall ${pct(m.macro.recall)}, F1 ${pct(m.macro.f1)}.`, '', '| class | precision | recall | F1 | support |', '|---|---|---|---|---|');
    m.perClass.forEach((c, i) => lines.push(`| ${m.classes[i]} | ${pct(c.precision)} | ${pct(c.recall)} | ${pct(c.f1)} | ${c.support} |`));
    lines.push('');
  }
  const weighted = r.details.classWeights ? ` The training loss is weighted by class (${(r.details.classWeights as number[]).map((w) => Number(w.toPrecision(4))).join(', ')}), as Keras reports it; the validation loss is not.` : '';
  lines.push('## Training', '', ...(weighted ? [weighted.trim(), ''] : []), '| epoch | loss | accuracy | val loss | val accuracy | lr |', '|---|---|---|---|---|---|');
  for (const h of r.history) lines.push(`| ${h.epoch} | ${h.loss.toFixed(4)} | ${pct(h.accuracy)} | ${h.valLoss?.toFixed(4) ?? ''} | ${h.valAccuracy === undefined ? '' : pct(h.valAccuracy)} | ${h.lr?.toPrecision(3) ?? ''} |`);
  const last = r.history[r.history.length - 1]?.diagnostics;
  if (last) {
    const cell = (v: number | undefined, f: (v: number) => string) => (v === undefined ? '' : f(v));
    lines.push('', `Diagnostics after the last epoch, on a fixed validation batch (every epoch's are in report.json):`, '', '| layer | dead ReLU units | gradient norm | ‖Δw‖/‖w‖ over the epoch |', '|---|---|---|---|');
    for (const d of last) lines.push(`| ${d.layer} | ${cell(d.deadReluShare, pct)} | ${cell(d.gradNorm, (v) => v.toExponential(2))} | ${cell(d.updateRatio, (v) => v.toExponential(2))} |`);
  }
  lines.push('', `${r.history.length > 0 ? '![training curves](curves.png) ' : ''}![ROC](roc.png) ![reliability](reliability.png) ![confusion matrix](confusion.png)`, '');
  return lines.join('\n');
}

/** Writes report.json, report.md and the plots into `dir`, each atomically. */
export async function writeReport(dir: string, r: ReportInput): Promise<void> {
  const b = r.test.binary;
  // An evaluation of a file that never trained here has no curves to draw.
  if (r.history.length > 0) await plotTrainingCurves(join(dir, 'curves'), r.history, `${r.name}: training`);
  await plotRoc(join(dir, 'roc'), b.roc, b.auc, { recallTarget: b.atRecallTarget.recallTarget, metrics: b.atRecallTarget }, `${r.name}: test ROC`);
  await plotReliability(join(dir, 'reliability'), b.calibration.bins, b.calibration.ece, b.calibration.brier, `${r.name}: test reliability`);
  const m = r.test.multiclass;
  await plotConfusionMatrix(join(dir, 'confusion'), m ? m.confusion : b.confusion, m ? m.classes : classNames('binary'), `${r.name}: test confusion matrix`);
  const json = {
    name: r.name,
    model: r.model,
    preprocess: r.preprocess,
    labels: r.scheme,
    data: { simulated: r.simulated },
    ...r.details,
    history: r.history,
    test: {
      accuracy: b.accuracy,
      precision: b.precision,
      recall: b.recall,
      f1: b.f1,
      fpr: b.fpr,
      auc: b.auc,
      ece: b.calibration.ece,
      brier: b.calibration.brier,
      loss: r.test.loss,
      samples: r.test.samples,
      binary: b,
      ...(m ? { multiclass: m } : {}),
    },
    ...(r.baseline ? { baseline: { accuracy: r.baseline.accuracy, auc: r.baseline.auc, atRecallTarget: r.baseline.atRecallTarget } } : {}),
    paper: PAPER[r.model as keyof typeof PAPER] ?? null,
  };
  await writeFileAtomic(join(dir, 'report.json'), `${JSON.stringify(json, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  await writeFileAtomic(join(dir, 'report.md'), markdown(r));
}
