// Calibration figures against hand-worked values, and temperature scaling:
// the fit recovers the temperature that generated the labels, and applying
// a temperature changes the scores but not their order.
import { describe, expect, it } from 'vitest';
import { applyTemperature, calibration, fitTemperature, logitsOf, scaledProbabilities } from '../src/train/calibration.ts';
import { rng, TEST_SEED } from './support/random.ts';

describe('expected calibration error and Brier score', () => {
  it('match a hand-worked example (15 bins; a score of 1 in the last bin)', () => {
    const scores = [0.05, 0.1, 0.5, 0.55, 0.95, 1.0];
    const truth = [0, 1, 1, 0, 1, 1];
    const c = calibration(scores, truth);
    // Bins 0, 1, 7, 8 and 14 (0.95 and 1.0): |0.05 − 0| + |0.1 − 1| + |0.5 − 1| + |0.55 − 0| + 2·|0.975 − 1|, over 6.
    expect(c.ece).toBeCloseTo(2.05 / 6, 12);
    expect(c.brier).toBeCloseTo((0.0025 + 0.81 + 0.25 + 0.3025 + 0.0025 + 0) / 6, 12);
    expect(c.bins).toHaveLength(15);
    expect(c.bins.map((b) => b.count)).toEqual([1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 2]);
    expect(c.bins[14]).toMatchObject({ meanScore: 0.975, fractionReal: 1 });
  });

  it('are 0 for perfect, confident answers and 1 for confidently wrong ones', () => {
    expect(calibration([0, 1, 1], [0, 1, 1])).toMatchObject({ ece: 0, brier: 0 });
    expect(calibration([1, 0], [0, 1])).toMatchObject({ ece: 1, brier: 1 });
  });
});

/** Logits ~ N(0, spread²) and labels drawn from softmax(z/T) (σ(z/T) for width 1). */
function synthetic(n: number, width: number, temperature: number, random: () => number) {
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const logits = Float64Array.from({ length: n * width }, () => 3 * normal());
  const p = scaledProbabilities(logits, width, temperature);
  const labels = Int32Array.from({ length: n }, (_, i) => {
    if (width === 1) return Number(random() < p[i]);
    let u = random();
    for (let c = 0; c < width - 1; c++) if ((u -= p[i * width + c]) < 0) return c;
    return width - 1;
  });
  return { logits, labels };
}

describe('temperature scaling', () => {
  for (const [width, temperature] of [[1, 2.5], [1, 0.6], [3, 1.8]] as const) {
    it(`width ${width}: the fit recovers T = ${temperature} from labels drawn at it, also from the probabilities' recovered logits`, () => {
      // 100,000 draws put the fit's standard error near 1% of T (seeds vary from run to run): 5% is far outside it.
      const { logits, labels } = synthetic(100_000, width, temperature, rng(TEST_SEED));
      expect(Math.abs(fitTemperature(logits, labels, width) / temperature - 1)).toBeLessThan(0.05);
      // What train sees: float32 probabilities of the uncalibrated network (T = 1).
      const probs = Float32Array.from(scaledProbabilities(logits, width, 1));
      expect(Math.abs(fitTemperature(logitsOf(probs, width), labels, width) / temperature - 1)).toBeLessThan(0.05);
    });
  }

  it('T = 1 leaves probabilities as they were; T = 2 halves a sigmoid logit and keeps the order', () => {
    const p = Float32Array.from([0.01, 0.2, 0.5, 0.7, 0.999]);
    Array.from(applyTemperature(p, 1, 1)).forEach((q, i) => expect(q).toBeCloseTo(p[i], 6));
    const halved = applyTemperature(p, 1, 2);
    Array.from(halved).forEach((q, i) => expect(Math.log(q / (1 - q))).toBeCloseTo(Math.log(p[i] / (1 - p[i])) / 2, 4));
    expect([...halved].sort((a, b) => a - b)).toEqual([...halved]);
    const rows = Float32Array.from([0.7, 0.2, 0.1, 0.1, 0.1, 0.8]);
    const soft = applyTemperature(rows, 3, 2);
    expect(soft[0] + soft[1] + soft[2]).toBeCloseTo(1, 6);
    expect(soft[0] / soft[1]).toBeCloseTo(Math.sqrt(0.7 / 0.2), 5);
  });
});
