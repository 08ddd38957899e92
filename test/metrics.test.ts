import { describe, expect, it } from 'vitest';
import { argmaxRows, binaryMetrics, multiclassMetrics, rocAuc, rocCurve, thresholdForRecall } from '../src/train/metrics.ts';
import { rng, TEST_SEED } from './support/random.ts';

const random = rng(TEST_SEED);
const close = (a: number, b: number) => expect(a).toBeCloseTo(b, 12);

// Hand-worked example: real scores .9 .8 .6 .4, not-real scores .7 .55 .3 .2.
const scores = [0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2];
const labels = [1, 1, 0, 1, 0, 1, 0, 0];

/** P(real score > not-real score) + P(equal)/2 over all pairs, by brute force. */
function mannWhitney(s: number[], y: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < s.length; i++) {
    for (let j = 0; j < s.length; j++) {
      if (y[i] !== 1 || y[j] !== 0) continue;
      pairs++;
      wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

describe('binary metrics', () => {
  it('at threshold 0.5: TP 3, FP 2, TN 2, FN 1', () => {
    const m = binaryMetrics(scores, labels);
    expect([m.tp, m.fp, m.tn, m.fn]).toEqual([3, 2, 2, 1]);
    close(m.accuracy, 5 / 8);
    close(m.precision, 3 / 5);
    close(m.recall, 3 / 4);
    close(m.f1, 2 / 3);
    close(m.fpr, 2 / 4);
    expect(m.confusion.counts).toEqual([
      [2, 2],
      [1, 3],
    ]);
    expect(m.confusion.normalized).toEqual([
      [0.5, 0.5],
      [0.25, 0.75],
    ]);
  });

  it('a score equal to the threshold is predicted real', () => {
    const m = binaryMetrics(scores, labels, 0.6);
    expect([m.tp, m.fp, m.tn, m.fn]).toEqual([3, 1, 3, 1]);
  });

  it('divisions by zero are 0: no positive predictions, no real samples, no not-real samples', () => {
    const none = binaryMetrics(scores, labels, 0.95);
    expect([none.precision, none.recall, none.f1, none.fpr]).toEqual([0, 0, 0, 0]);
    close(none.accuracy, 4 / 8);
    const allFake = binaryMetrics([0.3, 0.7], [0, 0]);
    expect([allFake.recall, allFake.precision, allFake.f1]).toEqual([0, 0, 0]);
    expect(allFake.confusion.normalized).toEqual([
      [0.5, 0.5],
      [0, 0],
    ]);
    const allReal = binaryMetrics([0.3, 0.7], [1, 1]);
    expect([allReal.fpr, allReal.precision, allReal.recall]).toEqual([0, 1, 0.5]);
  });

  it('rejects mismatched lengths, non-finite scores and non-binary labels', () => {
    expect(() => binaryMetrics([0.5], [1, 0])).toThrow('1 scores but 2 labels');
    expect(() => binaryMetrics([NaN], [1])).toThrow('score 0 is NaN');
    expect(() => binaryMetrics([0.5], [2])).toThrow('binary label 0 is 2');
  });
});

describe('ROC and AUC', () => {
  it('one point per distinct score from (0,0) to (1,1); AUC 13/16', () => {
    const curve = rocCurve(scores, labels);
    expect(curve.map((p) => [p.threshold, p.fpr, p.tpr])).toEqual([
      [Infinity, 0, 0],
      [0.9, 0, 0.25],
      [0.8, 0, 0.5],
      [0.7, 0.25, 0.5],
      [0.6, 0.25, 0.75],
      [0.55, 0.5, 0.75],
      [0.4, 0.5, 1],
      [0.3, 0.75, 1],
      [0.2, 1, 1],
    ]);
    close(rocAuc(curve), 13 / 16);
  });

  it('tied scores move together: a diagonal segment, ties counting 1/2', () => {
    const s = [0.8, 0.5, 0.5, 0.5, 0.2];
    const y = [1, 1, 0, 0, 1];
    const curve = rocCurve(s, y);
    expect(curve.map((p) => [p.fpr, p.tpr])).toEqual([
      [0, 0],
      [0, 1 / 3],
      [1, 2 / 3],
      [1, 1],
    ]);
    close(rocAuc(curve), 0.5);
    close(rocAuc(rocCurve([0.3, 0.3, 0.3], [1, 0, 1])), 0.5);
  });

  it('perfect and inverted rankings give 1 and 0; one class only gives NaN', () => {
    expect(rocAuc(rocCurve([0.9, 0.8, 0.1], [1, 1, 0]))).toBe(1);
    expect(rocAuc(rocCurve([0.1, 0.2, 0.9], [1, 1, 0]))).toBe(0);
    expect(rocAuc(rocCurve([0.1, 0.2], [1, 1]))).toBeNaN();
    expect(rocAuc(rocCurve([0.1, 0.2], [0, 0]))).toBeNaN();
  });

  it('AUC equals the Mann-Whitney probability on random scores with many ties', () => {
    for (let trial = 0; trial < 20; trial++) {
      const n = 2 + Math.floor(random() * 400);
      const y = Array.from({ length: n }, (_, i) => (i < 2 ? i : random() < 0.7 ? 1 : 0));
      // Scores on a coarse grid, shifted by the label, so ties are frequent and mixed.
      const s = y.map((l) => Math.round((random() + 0.3 * l) * 10) / 10);
      const curve = rocCurve(s, y);
      expect(Math.abs(rocAuc(curve) - mannWhitney(s, y)), `n=${n} seed ${TEST_SEED}`).toBeLessThan(1e-12);
      for (let k = 1; k < curve.length; k++) {
        const p = curve[k];
        const m = binaryMetrics(s, y, p.threshold);
        expect([m.fpr, m.recall]).toEqual([p.fpr, p.tpr]);
        expect(p.threshold).toBeLessThan(curve[k - 1].threshold);
      }
    }
  });
});

describe('threshold for a recall target', () => {
  it('picks the highest threshold that reaches the target', () => {
    const at75 = thresholdForRecall(scores, labels, 0.75);
    expect(at75.threshold).toBe(0.6);
    close(at75.recall, 0.75);
    close(at75.precision, 3 / 4);
    close(at75.fpr, 1 / 4);
    const atDefault = thresholdForRecall(scores, labels);
    expect(atDefault.threshold).toBe(0.4);
    close(atDefault.recall, 1);
    close(atDefault.precision, 4 / 6);
    close(atDefault.fpr, 2 / 4);
  });

  it('on random data: reaches the target, the next higher score does not, and matches binaryMetrics', () => {
    for (let trial = 0; trial < 20; trial++) {
      const n = 1 + Math.floor(random() * 300);
      const y = Array.from({ length: n }, (_, i) => (i === 0 ? 1 : random() < 0.8 ? 1 : 0));
      const s = y.map((l) => Math.round((random() + 0.4 * l) * 50) / 50);
      const target = 0.5 + 0.5 * random();
      const m = thresholdForRecall(s, y, target);
      expect(m.recall).toBeGreaterThanOrEqual(target);
      expect(binaryMetrics(s, y, m.threshold)).toEqual(m);
      const higher = s.filter((v) => v > m.threshold);
      if (higher.length > 0) expect(binaryMetrics(s, y, Math.min(...higher)).recall).toBeLessThan(target);
    }
  });

  it('rejects a target outside (0, 1] and data without real samples', () => {
    expect(() => thresholdForRecall(scores, labels, 0)).toThrow('recall target must be in (0, 1]');
    expect(() => thresholdForRecall(scores, labels, 1.5)).toThrow('recall target must be in (0, 1]');
    expect(() => thresholdForRecall([0.2, 0.4], [0, 0])).toThrow('no real sample');
  });
});

describe('multi-class metrics', () => {
  it('3 classes: per-class, macro, accuracy and confusion', () => {
    const m = multiclassMetrics([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 2, 2], 3);
    expect(m.confusion.counts).toEqual([
      [1, 1, 0],
      [0, 2, 1],
      [0, 0, 1],
    ]);
    expect(m.confusion.normalized[1].map((v) => v * 3)).toEqual([0, 2, 1]);
    close(m.accuracy, 4 / 6);
    const expected = [
      [1, 1 / 2, 2 / 3, 2],
      [2 / 3, 2 / 3, 2 / 3, 3],
      [1 / 2, 1, 2 / 3, 1],
    ];
    m.perClass.forEach((c, i) => {
      close(c.precision, expected[i][0]);
      close(c.recall, expected[i][1]);
      close(c.f1, expected[i][2]);
      expect(c.support).toBe(expected[i][3]);
    });
    close(m.macro.precision, 13 / 18);
    close(m.macro.recall, 13 / 18);
    close(m.macro.f1, 2 / 3);
  });

  it('10 classes: classes that never occur stay out of the macro averages', () => {
    const m = multiclassMetrics([3, 3, 5], [3, 5, 5], 10);
    close(m.macro.precision, 0.75);
    close(m.macro.recall, 0.75);
    close(m.macro.f1, 2 / 3);
    expect(m.perClass[0]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(m.confusion.normalized[0]).toEqual(new Array(10).fill(0));
  });

  it('agrees with the binary metrics on two classes', () => {
    const predicted = scores.map((s) => (s >= 0.5 ? 1 : 0));
    const multi = multiclassMetrics(labels, predicted, 2);
    const binary = binaryMetrics(scores, labels);
    expect(multi.confusion).toEqual(binary.confusion);
    close(multi.perClass[1].precision, binary.precision);
    close(multi.perClass[1].recall, binary.recall);
    close(multi.perClass[1].f1, binary.f1);
    close(multi.accuracy, binary.accuracy);
  });

  it('argmaxRows takes the first of tied maxima; bad labels and shapes are rejected', () => {
    expect([...argmaxRows([0.1, 0.7, 0.2, 0.4, 0.4, 0.2], 3)]).toEqual([1, 0]);
    expect(() => argmaxRows([0.1, 0.2, 0.3], 2)).toThrow('not a multiple of 2 classes');
    expect(() => multiclassMetrics([3], [0], 3)).toThrow('label 0 is 3');
    expect(() => multiclassMetrics([0], [1.5], 3)).toThrow('prediction 0 is 1.5');
  });
});
