// Central finite differences in float64, for checking CPU reference backwards.
import { FD_STEP } from './tolerances.ts';

/**
 * d loss / d values[i] for each i in `indices`, by (f(v + h) − f(v − h)) / 2h,
 * perturbing `values` in place and restoring it.
 */
export function numericGradient(loss: () => number, values: Float64Array, indices: Iterable<number>, h = FD_STEP): Map<number, number> {
  const out = new Map<number, number>();
  for (const i of indices) {
    const v = values[i];
    values[i] = v + h;
    const plus = loss();
    values[i] = v - h;
    const minus = loss();
    values[i] = v;
    out.set(i, (plus - minus) / (2 * h));
  }
  return out;
}

/** A weighted sum Σ r·y with fixed random r: a scalar loss whose dy is r. */
export function projection(y: Float64Array, r: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] * r[i];
  return s;
}

/** Up to `count` distinct indices from [0, n), all of them when n ≤ count. */
export function sampleIndices(n: number, count: number, random: () => number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>();
  while (picked.size < count) picked.add(Math.floor(random() * n));
  return [...picked];
}
