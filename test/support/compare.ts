// Comparisons that say where and by how much, after llm.c validate_result.
import { expect } from 'vitest';
import { TEST_SEED } from './random.ts';
import { relativeError } from './relative-error.ts';

export { relativeError };

/**
 * Asserts ‖a − ref‖/‖ref‖ < tol and that every element is finite (a NaN means
 * the kernel left a poisoned output element unwritten).
 */
export function expectClose(a: ArrayLike<number>, ref: ArrayLike<number>, tol: number, what: string): void {
  expect(a.length, `${what}: length`).toBe(ref.length);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) {
      expect.fail(`${what}: element ${i} is ${a[i]} (unwritten or overflowed; ref ${ref[i]}; seed ${TEST_SEED})`);
    }
  }
  const err = relativeError(a, ref);
  if (!(err < tol)) {
    let worst = 0;
    for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - ref[i]) > Math.abs(a[worst] - ref[worst])) worst = i;
    expect.fail(`${what}: relative error ${err.toExponential(2)} ≥ ${tol}; worst at ${worst}: ${a[worst]} vs ${ref[worst]} (seed ${TEST_SEED})`);
  }
}
