import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { binaryMetrics, multiclassMetrics, rocAuc, rocCurve, thresholdForRecall } from '../src/train/metrics.ts';
import { calibration } from '../src/train/calibration.ts';
import { plotConfusionMatrix, plotReliability, plotRoc, plotTrainingCurves, type PlotFiles } from '../src/train/plots.ts';
import { rng, TEST_SEED } from './support/random.ts';

const random = rng(TEST_SEED);
const dir = await mkdtemp(join(tmpdir(), 'handscan-plots-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Checks both files: a PNG with its signature and a non-empty IHDR size; an SVG holding every expected text. */
async function expectPlot(files: PlotFiles, texts: string[]): Promise<void> {
  const png = await readFile(files.png);
  expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
  expect(png.toString('latin1', 12, 16)).toBe('IHDR');
  expect(png.readUInt32BE(16)).toBeGreaterThan(100);
  expect(png.readUInt32BE(20)).toBeGreaterThan(100);
  const svg = await readFile(files.svg, 'utf8');
  expect(svg.startsWith('<svg')).toBe(true);
  for (const text of texts) expect(svg, `SVG should contain '${text}'`).toContain(text);
}

describe('plots', () => {
  it('training curves: loss and accuracy, training and validation, best epoch marked', async () => {
    const history = Array.from({ length: 8 }, (_, i) => ({ epoch: i + 1, loss: 0.6 / (i + 1) + 0.05 * random(), accuracy: 0.8 + 0.02 * i, valLoss: 0.3 + 0.01 * (i - 5) ** 2, valAccuracy: 0.82 + 0.01 * i }));
    const files = await plotTrainingCurves(join(dir, 'curves'), history, 'Initial model');
    expect(files).toEqual({ svg: join(dir, 'curves.svg'), png: join(dir, 'curves.png') });
    await expectPlot(files, ['Initial model', 'loss', 'accuracy', 'training', 'validation', 'best: epoch 6']);
  });

  it('reliability diagram: the ECE and Brier score in the title, the axes named', async () => {
    const scores = Array.from({ length: 300 }, () => random());
    const c = calibration(scores, scores.map((s) => Number(random() < s ** 2)));
    const files = await plotReliability(join(dir, 'reliability'), c.bins, c.ece, c.brier, 'Test set');
    await expectPlot(files, [`ECE ${c.ece.toFixed(4)}`, `Brier ${c.brier.toFixed(4)}`, 'fraction real', 'mean score p_real in the bin', '15 equal-width bins']);
  });

  it('training curves without validation figures', async () => {
    const files = await plotTrainingCurves(join(dir, 'curves-train-only'), [{ epoch: 1, loss: 0.7, accuracy: 0.6 }]);
    await expectPlot(files, ['Training history', 'training']);
    expect(await readFile(files.svg, 'utf8')).not.toContain('best:');
  });

  it('ROC: AUC in the title, chance diagonal, operating point for the recall target', async () => {
    const scores = [0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2];
    const labels = [1, 1, 0, 1, 0, 1, 0, 0];
    const curve = rocCurve(scores, labels);
    const files = await plotRoc(join(dir, 'roc'), curve, rocAuc(curve), { recallTarget: 0.75, metrics: thresholdForRecall(scores, labels, 0.75) });
    await expectPlot(files, ['ROC: AUC 0.8125', 'at recall ≥ 75.0%: threshold 0.600', 'fall-out 25.0%', 'fall-out (false positive rate)', 'recall (true positive rate)']);
  });

  it('confusion matrices: 2 classes and 10 classes, with counts and row shares', async () => {
    const scores = Array.from({ length: 200 }, () => random());
    const labels = scores.map((s) => (random() < s ? 1 : 0));
    const binary = binaryMetrics(scores, labels);
    const two = await plotConfusionMatrix(join(dir, 'confusion-2'), binary.confusion, ['not real', 'real']);
    await expectPlot(two, ['not real', 'real', `>${binary.tp}<`, `>${binary.tn}<`, `${(100 * binary.confusion.normalized[1][1]).toFixed(1)}%`]);

    const names = ['Artefact', 'Dipole', 'Saturated star', 'Moving', 'Variable', 'Transient', 'SN Other', 'SN Bronze', 'SN Silver', 'SN Gold'];
    const truth = Array.from({ length: 500 }, () => Math.floor(random() * 10));
    const predicted = truth.map((t) => (random() < 0.6 ? t : Math.floor(random() * 10)));
    const ten = await plotConfusionMatrix(join(dir, 'confusion-10'), multiclassMetrics(truth, predicted, 10).confusion, names, '10 classes');
    await expectPlot(ten, ['10 classes', 'predicted class', 'true class', ...names]);
  });

  it('leaves no temporary files behind and rejects bad input', async () => {
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await expect(plotTrainingCurves(join(dir, 'x'), [])).rejects.toThrow('training history is empty');
    await expect(plotConfusionMatrix(join(dir, 'x'), { counts: [[1]], normalized: [[1]] }, ['a', 'b'])).rejects.toThrow('2 class names for a 1×1');
  });
});
