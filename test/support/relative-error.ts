// The suite's measure of closeness, free of vitest and of Node, so that the
// in-browser kernel checks (web/kernel-checks.ts) measure exactly as the
// Node tests do.

/** ‖a − ref‖ / ‖ref‖ (or ‖a‖ when ref is all zeros). */
export function relativeError(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < ref.length; i++) {
    diff += (a[i] - ref[i]) ** 2;
    norm += ref[i] ** 2;
  }
  return norm === 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
}
