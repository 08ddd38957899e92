// The page's figures are real-or-bogus figures, as `evaluate` makes them:
// p(real) is a sigmoid's one output or the sum of the real classes'
// probabilities (src/data/labels.ts's realClasses), and a scanner's label
// (src/data/scan-choices.ts, as the server reads it for training) counts as
// real or bogus by the same classes; "unsure" counts as neither.
import { realClasses, schemeForOutputs, type LabelScheme } from '../../src/data/labels.ts';
import { classOfChoice } from '../../src/data/scan-choices.ts';

/** p(real) per candidate from N×width probabilities (width 1: a sigmoid). */
export function realScores(probs: ArrayLike<number>, width: number): Float64Array {
  if (width === 1) return Float64Array.from(probs);
  const real = realClasses(schemeForOutputs(width));
  return Float64Array.from({ length: probs.length / width }, (_, i) => real.reduce((s, c) => s + probs[i * width + c], 0));
}

/** 1 for a real label, 0 for a bogus one, null for unsure (or anything the scheme does not name). */
export function truthOf(label: string, scheme: LabelScheme): 0 | 1 | null {
  const c = classOfChoice(scheme, label);
  return c === null || c === undefined ? null : realClasses(scheme).includes(c) ? 1 : 0;
}
