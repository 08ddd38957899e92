// Live figures on the labelled candidates (the scanner's real/bogus labels
// against the page's p(real)), drawn as small SVGs: the ROC with the
// threshold's operating point, precision, recall and fall-out against the
// threshold, and the reliability diagram with its expected calibration
// error. The numbers are the project's own (src/train/metrics.ts,
// src/train/calibration.ts), the functions `evaluate` reports with, so the
// page and the CLI agree on the same labels.
import { calibration, type Calibration } from '../../src/train/calibration.ts';
import { binaryMetrics, rocAuc, rocCurve, type BinaryMetrics, type RocPoint } from '../../src/train/metrics.ts';

export interface Figures {
  count: number;
  real: number;
  at: BinaryMetrics;
  roc: RocPoint[];
  auc: number;
  calibration: Calibration;
  /** precision, recall and fall-out at thresholds 0, 0.01, …, 1. */
  sweep: BinaryMetrics[];
}

export function figures(scores: ArrayLike<number>, truth: ArrayLike<number>, threshold: number): Figures {
  const roc = rocCurve(scores, truth);
  let real = 0;
  for (let i = 0; i < truth.length; i++) real += truth[i];
  return {
    count: truth.length,
    real,
    at: binaryMetrics(scores, truth, threshold),
    roc,
    auc: rocAuc(roc),
    calibration: calibration(scores, truth),
    sweep: Array.from({ length: 101 }, (_, k) => binaryMetrics(scores, truth, k / 100)),
  };
}

const SIZE = 220;
const PAD = 34;
const NS = 'http://www.w3.org/2000/svg';
const x = (v: number) => PAD + v * (SIZE - 2 * PAD);
const y = (v: number) => SIZE - PAD - v * (SIZE - 2 * PAD);

function node(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const line = (points: [number, number][], colour: string, dash = '') =>
  node('polyline', { points: points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' '), fill: 'none', stroke: colour, 'stroke-width': 1.8, 'stroke-dasharray': dash });

/** A unit square plot with both axes 0-1, a title and axis names. */
function plot(title: string, xName: string, yName: string, ...content: SVGElement[]): SVGElement {
  const svg = node('svg', { viewBox: `0 0 ${SIZE} ${SIZE}`, width: SIZE, height: SIZE, role: 'img', 'aria-label': title });
  svg.append(
    node('rect', { x: x(0), y: y(1), width: x(1) - x(0), height: y(0) - y(1), fill: 'none', stroke: '#999' }),
    ...[0, 0.5, 1].flatMap((t) => [
      node('text', { x: x(t), y: y(0) + 12, 'text-anchor': 'middle', 'font-size': 9 }, String(t)),
      node('text', { x: x(0) - 4, y: y(t) + 3, 'text-anchor': 'end', 'font-size': 9 }, String(t)),
    ]),
    node('text', { x: SIZE / 2, y: 14, 'text-anchor': 'middle', 'font-size': 11, 'font-weight': 'bold' }, title),
    node('text', { x: SIZE / 2, y: SIZE - 6, 'text-anchor': 'middle', 'font-size': 10 }, xName),
    node('text', { x: 10, y: SIZE / 2, 'text-anchor': 'middle', 'font-size': 10, transform: `rotate(-90 10 ${SIZE / 2})` }, yName),
    ...content,
  );
  return svg;
}

/** Curve names in a row between the title and the plot. */
const legend = (items: [string, string][]) => items.map(([name, colour], i) => node('text', { x: x(0) + 52 * i, y: y(1) - 5, 'font-size': 9, fill: colour }, name));

/** The three figures, for `f` at the slider's threshold. */
export function drawFigures(f: Figures): SVGElement[] {
  const t = f.at.threshold;
  const roc = plot(
    `ROC, AUC ${Number.isFinite(f.auc) ? f.auc.toFixed(3) : 'n/a'}`,
    'fall-out (FPR)',
    'recall (TPR)',
    line([[0, 0], [1, 1]], '#bbb', '3 3'),
    line(f.roc.map((p) => [p.fpr, p.tpr]), '#1f5fa8'),
    node('circle', { cx: x(f.at.fpr), cy: y(f.at.recall), r: 4, fill: '#d0342c' }),
  );
  const threshold = plot(
    'at each threshold',
    'threshold',
    'rate',
    line(f.sweep.map((m) => [m.threshold, m.precision]), '#1f5fa8'),
    line(f.sweep.map((m) => [m.threshold, m.recall]), '#2a8a3e'),
    line(f.sweep.map((m) => [m.threshold, m.fpr]), '#d0342c'),
    line([[t, 0], [t, 1]], '#333', '2 2'),
    ...legend([['precision', '#1f5fa8'], ['recall', '#2a8a3e'], ['fall-out', '#d0342c']]),
  );
  const bins = f.calibration.bins.filter((b) => b.count > 0);
  const width = (x(1) - x(0)) / f.calibration.bins.length;
  const reliability = plot(
    `reliability, ECE ${f.calibration.ece.toFixed(3)}`,
    'mean p(real) in bin',
    'fraction real',
    line([[0, 0], [1, 1]], '#bbb', '3 3'),
    ...bins.map((b) => node('rect', { x: x(b.lower) + 1, y: y(b.fractionReal), width: width - 2, height: y(0) - y(b.fractionReal), fill: '#1f5fa8', 'fill-opacity': 0.35 })),
    ...bins.map((b) => node('circle', { cx: x(b.meanScore), cy: y(b.fractionReal), r: 2.5 + Math.min(4, Math.sqrt(b.count)), fill: '#1f5fa8' })),
  );
  return [roc, threshold, reliability];
}
