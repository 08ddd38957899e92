// The report's plots: Vega-Lite specs compiled to Vega, rendered headless to
// SVG (renderer 'none' needs no canvas), then rasterised to PNG by resvg.
// Each plot function takes a base path and writes BASE.svg and BASE.png, each
// atomically.
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../io/atomic-file.ts';
import type { ReliabilityBin } from './calibration.ts';
import type { LayerDiagnostics } from './diagnostics.ts';
import type { BinaryMetrics, ConfusionMatrix, RocPoint } from './metrics.ts';

export interface PlotFiles {
  svg: string;
  png: string;
}

/** One epoch of training history; validation figures are absent when a run has no validation set. */
export interface EpochHistory {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** The learning rate the epoch trained at (absent in runs from before schedules). */
  lr?: number;
  /** The share of the epoch's training samples whose true class's probability sat at Keras 2.2's clip [1e-7, 1 − 1e-7]. */
  atClip?: number;
  /** Per-layer dead ReLUs, gradient norms and update ratios after the epoch (src/train/diagnostics.ts). */
  diagnostics?: LayerDiagnostics[];
}

/** The ROC's marked operating point: the metrics at the threshold chosen for a recall target. */
export interface OperatingPoint {
  recallTarget: number;
  metrics: BinaryMetrics;
}

// DejaVu Sans is the font Debian installs by default; resvg falls back to any sans-serif font it finds.
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const CONFIG = { font: FONT, background: 'white', view: { stroke: null }, title: { fontSize: 15 }, axis: { labelFontSize: 12, titleFontSize: 13 }, legend: { labelFontSize: 12 } };
/**
 * Text widths for layout. Without a canvas, Vega guesses 0.8 em per character,
 * twice too wide for most text: long titles then pad the plot with blank
 * margins. These are DejaVu Sans's advance widths by character class, within
 * about 10% (Vega lets a caller set textMetrics.width, as vl-convert does).
 */
function dejaVuWidth(item: { fontSize?: number; fontWeight?: string | number }, text: unknown): number {
  const line = text == null ? '' : String(text).trim();
  let em = 0;
  for (const ch of line) {
    if (' .,:;\'|!()[]ijlft1'.includes(ch)) em += 0.34;
    else if ('mwMW%@—'.includes(ch)) em += 0.95;
    else if (ch >= 'A' && ch <= 'Z') em += 0.7;
    else em += 0.62;
  }
  const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600;
  return em * (item.fontSize ?? 11) * (bold ? 1.1 : 1);
}
(vega as unknown as { textMetrics: { width: typeof dejaVuWidth } }).textMetrics.width = dejaVuWidth;

/** PNGs at twice the SVG's size, so text stays sharp on high-density screens and in slides. */
const PNG_ZOOM = 2;
const percent = (v: number) => `${(100 * v).toFixed(1)}%`;

/** Renders a Vega-Lite spec to BASE.svg and BASE.png. */
export async function renderPlot(spec: TopLevelSpec, base: string): Promise<PlotFiles> {
  const view = new vega.View(vega.parse(compile({ config: CONFIG, ...spec }).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: PNG_ZOOM }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' } }).render().asPng();
  const files = { svg: `${base}.svg`, png: `${base}.png` };
  await writeFileAtomic(files.svg, svg);
  await writeFileAtomic(files.png, png);
  return files;
}

/** Loss and accuracy per epoch, training beside validation, with the epoch of lowest validation loss marked. */
export function trainingCurvesSpec(history: readonly EpochHistory[], title = 'Training history'): TopLevelSpec {
  if (history.length === 0) throw new Error('plots: the training history is empty');
  const rows = history.flatMap((h) => [
    { epoch: h.epoch, metric: 'loss', split: 'training', value: h.loss },
    { epoch: h.epoch, metric: 'accuracy', split: 'training', value: h.accuracy },
    ...(h.valLoss === undefined ? [] : [{ epoch: h.epoch, metric: 'loss', split: 'validation', value: h.valLoss }]),
    ...(h.valAccuracy === undefined ? [] : [{ epoch: h.epoch, metric: 'accuracy', split: 'validation', value: h.valAccuracy }]),
  ]);
  const validated = history.filter((h) => h.valLoss !== undefined);
  const best = validated.length === 0 ? undefined : validated.reduce((a, b) => (b.valLoss! < a.valLoss! ? b : a));
  const [first, last] = [history[0].epoch, history[history.length - 1].epoch];
  const labelSide = best !== undefined && best.epoch > (first + last) / 2 ? ('right' as const) : ('left' as const);
  const panel = (metric: 'loss' | 'accuracy', yTitle: string) => ({
    width: 360,
    height: 260,
    layer: [
      {
        data: { values: rows.filter((r) => r.metric === metric) },
        mark: { type: 'line' as const, point: history.length <= 60, strokeWidth: 2 },
        encoding: {
          x: { field: 'epoch', type: 'quantitative' as const, title: 'epoch', axis: { tickMinStep: 1 } },
          y: { field: 'value', type: 'quantitative' as const, title: yTitle, scale: { zero: false }, ...(metric === 'accuracy' ? { axis: { format: '.0%' } } : {}) },
          color: { field: 'split', type: 'nominal' as const, title: null, scale: { domain: ['training', 'validation'], range: ['#1f77b4', '#ff7f0e'] } },
        },
      },
      ...(best === undefined
        ? []
        : [
            {
              data: { values: [{ epoch: best.epoch, label: `best: epoch ${best.epoch}` }] },
              layer: [
                { mark: { type: 'rule' as const, strokeDash: [4, 4], color: 'gray' }, encoding: { x: { field: 'epoch', type: 'quantitative' as const } } },
                // At the foot of the rule, where late-epoch curves are rarely found; on the side with more room.
                { mark: { type: 'text' as const, align: labelSide, baseline: 'bottom' as const, dx: labelSide === 'left' ? 4 : -4, y: 'height' as const, dy: -4, color: 'gray' }, encoding: { x: { field: 'epoch', type: 'quantitative' as const }, text: { field: 'label' } } },
              ],
            },
          ]),
    ],
  });
  return { title, hconcat: [panel('loss', 'loss'), panel('accuracy', 'accuracy')] } as TopLevelSpec;
}

/** ROC curve from rocCurve, the chance diagonal, the AUC in the title and, when given, the recall-target operating point. */
export function rocSpec(curve: readonly RocPoint[], auc: number, operatingPoint?: OperatingPoint, title = 'ROC'): TopLevelSpec {
  const unit = { type: 'quantitative' as const, scale: { domain: [0, 1] }, axis: { format: '.0%' } };
  const x = { ...unit, field: 'fpr', title: 'fall-out (false positive rate)' };
  const y = { ...unit, field: 'tpr', title: 'recall (true positive rate)' };
  const layers: object[] = [
    {
      data: { values: [{ fpr: 0, tpr: 0 }, { fpr: 1, tpr: 1 }] },
      mark: { type: 'line', strokeDash: [6, 4], color: 'gray' },
      encoding: { x, y },
    },
    {
      data: { values: curve.map((p) => ({ fpr: p.fpr, tpr: p.tpr })) },
      mark: { type: 'line', color: '#1f77b4', strokeWidth: 2, interpolate: 'linear' },
      encoding: { x, y, order: { field: 'index', type: 'quantitative' } },
      transform: [{ window: [{ op: 'row_number', as: 'index' }] }],
    },
  ];
  const aucText = Number.isNaN(auc) ? 'AUC undefined (one class only)' : `AUC ${auc.toFixed(4)}`;
  let subtitle: string | undefined;
  if (operatingPoint) {
    const m = operatingPoint.metrics;
    subtitle = `at recall ≥ ${percent(operatingPoint.recallTarget)}: threshold ${m.threshold.toPrecision(3)}, recall ${percent(m.recall)}, fall-out ${percent(m.fpr)}, precision ${percent(m.precision)}`;
    layers.push({
      data: { values: [{ fpr: m.fpr, tpr: m.recall, label: [`recall ${percent(m.recall)}`, `fall-out ${percent(m.fpr)}`] }] },
      layer: [
        { mark: { type: 'point', shape: 'circle', size: 120, filled: true, color: '#d62728', opacity: 1 }, encoding: { x, y } },
        // Below and right of the point lies the empty area under the curve.
        { mark: { type: 'text', align: 'left', baseline: 'top', dx: 8, dy: 8, color: '#d62728', fontSize: 12, lineHeight: 15 }, encoding: { x, y, text: { field: 'label' } } },
      ],
    });
  }
  return { title: { text: `${title}: ${aucText}`, ...(subtitle ? { subtitle } : {}) }, width: 420, height: 420, layer: layers } as TopLevelSpec;
}

/** Heat map of a confusion matrix, true class down, predicted class across, coloured by the row-normalised share, each cell with its count and share. */
export function confusionMatrixSpec(confusion: ConfusionMatrix, classNames: readonly string[], title = 'Confusion matrix'): TopLevelSpec {
  const n = confusion.counts.length;
  if (classNames.length !== n) throw new Error(`plots: ${classNames.length} class names for a ${n}×${n} confusion matrix`);
  const cells = confusion.counts.flatMap((row, t) =>
    row.map((count, p) => ({ true: classNames[t], predicted: classNames[p], count, share: confusion.normalized[t][p], label: [String(count), percent(confusion.normalized[t][p])] })),
  );
  const side = Math.max(260, Math.min(620, 62 * n));
  const axis = (field: string, axisTitle: string) => ({ field, type: 'nominal' as const, sort: [...classNames], title: axisTitle, axis: { labelAngle: 0, labelLimit: 140 } });
  return {
    title,
    width: side,
    height: side,
    data: { values: cells },
    encoding: { x: { ...axis('predicted', 'predicted class'), axis: { labelAngle: n > 3 ? -40 : 0, orient: 'top' } }, y: axis('true', 'true class') },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: { color: { field: 'share', type: 'quantitative', title: 'share of row', scale: { domain: [0, 1], scheme: 'blues' }, legend: { format: '.0%' } } },
      },
      {
        mark: { type: 'text', fontSize: n > 5 ? 10 : 13, lineHeight: n > 5 ? 12 : 16 },
        encoding: {
          text: { field: 'label' },
          // White text on the dark half of the colour scale.
          color: { condition: { test: 'datum.share > 0.55', value: 'white' }, value: 'black' },
        },
      },
    ],
  } as TopLevelSpec;
}

/**
 * Reliability diagram: each non-empty score bin's fraction real against its
 * mean score (a point sized by its samples), beside the diagonal of perfect
 * calibration, with the ECE and Brier score in the title.
 */
export function reliabilitySpec(bins: readonly ReliabilityBin[], ece: number, brier: number, title = 'Reliability'): TopLevelSpec {
  const unit = { type: 'quantitative' as const, scale: { domain: [0, 1] }, axis: { format: '.0%' } };
  const x = { ...unit, field: 'meanScore', title: 'mean score p_real in the bin' };
  const y = { ...unit, field: 'fractionReal', title: 'fraction real' };
  const filled = bins.filter((b) => b.count > 0);
  return {
    title: { text: `${title}: ECE ${ece.toFixed(4)}, Brier ${brier.toFixed(4)}`, subtitle: `${bins.length} equal-width bins; point area ∝ samples` },
    width: 420,
    height: 420,
    layer: [
      { data: { values: [{ meanScore: 0, fractionReal: 0 }, { meanScore: 1, fractionReal: 1 }] }, mark: { type: 'line', strokeDash: [6, 4], color: 'gray' }, encoding: { x, y } },
      {
        data: { values: filled.map((b) => ({ meanScore: b.meanScore, fractionReal: b.fractionReal, count: b.count })) },
        layer: [
          { mark: { type: 'line', color: '#1f77b4', strokeWidth: 2 }, encoding: { x, y } },
          { mark: { type: 'point', filled: true, color: '#1f77b4', opacity: 1 }, encoding: { x, y, size: { field: 'count', type: 'quantitative', title: 'samples', scale: { range: [20, 400] } } } },
        ],
      },
    ],
  } as TopLevelSpec;
}

export async function plotReliability(base: string, bins: readonly ReliabilityBin[], ece: number, brier: number, title?: string): Promise<PlotFiles> {
  return renderPlot(reliabilitySpec(bins, ece, brier, title), base);
}

export async function plotTrainingCurves(base: string, history: readonly EpochHistory[], title?: string): Promise<PlotFiles> {
  return renderPlot(trainingCurvesSpec(history, title), base);
}

export async function plotRoc(base: string, curve: readonly RocPoint[], auc: number, operatingPoint?: OperatingPoint, title?: string): Promise<PlotFiles> {
  return renderPlot(rocSpec(curve, auc, operatingPoint, title), base);
}

export async function plotConfusionMatrix(base: string, confusion: ConfusionMatrix, classNames: readonly string[], title?: string): Promise<PlotFiles> {
  return renderPlot(confusionMatrixSpec(confusion, classNames, title), base);
}
