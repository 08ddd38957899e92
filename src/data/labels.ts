// The paper's ten original classes and the two coarser label schemes derived
// from them (REFERENCE.md, "The task").
import { InputError } from '../errors.ts';

export const ORIGINAL_CLASSES = [
  'Artefact',
  'Dipole',
  'Saturated star',
  'Moving',
  'Variable',
  'Transient',
  'SN Other',
  'SN Bronze',
  'SN Silver',
  'SN Gold',
] as const;

export const VISUAL_CLASSES = ['Artefact', 'Dipole/Saturated', 'Real'] as const;

/** Index 1 ("real") is the positive class for precision, recall and the ROC. */
export const BINARY_CLASSES = ['not real', 'real'] as const;

export type LabelScheme = 'binary' | 'visual' | 'original';
export const LABEL_SCHEMES: readonly LabelScheme[] = ['binary', 'visual', 'original'];

/** Original class index → visual class index. */
const VISUAL_OF = [0, 1, 1, 2, 2, 2, 2, 2, 2, 2] as const;
/** Original class index → binary class index (0 = not real, 1 = real). */
const BINARY_OF = [0, 0, 0, 1, 1, 1, 1, 1, 1, 1] as const;

export function isLabelScheme(name: string): name is LabelScheme {
  return (LABEL_SCHEMES as readonly string[]).includes(name);
}

export function classNames(scheme: LabelScheme): readonly string[] {
  return scheme === 'binary' ? BINARY_CLASSES : scheme === 'visual' ? VISUAL_CLASSES : ORIGINAL_CLASSES;
}

/** The label scheme of a model with `outputs` classes (2 binary, 3 visual, 10 original), as `predict` and the page name its columns. */
export function schemeForOutputs(outputs: number): LabelScheme {
  const scheme = LABEL_SCHEMES.find((s) => classNames(s).length === outputs);
  if (!scheme) throw new InputError(`the model has ${outputs} outputs; Handscan's label schemes have 2, 3 or 10 classes`);
  return scheme;
}

/**
 * The classes a model with `outputs` outputs tells apart, and what each
 * output is the probability of: a one-unit sigmoid (braai) gives p(real) of
 * the binary scheme, a softmax one probability per class.
 */
export function outputClasses(outputs: number): { classes: readonly string[]; outputs: readonly string[] } {
  const classes = classNames(schemeForOutputs(outputs === 1 ? 2 : outputs));
  return { classes, outputs: outputs === 1 ? classes.slice(1) : classes };
}

/** The class of one row of a model's probabilities (`outputClasses`): p(real) at `threshold` for a real/bogus model (one sigmoid or two softmax outputs), else the most probable class. */
export function predictedClass(p: ArrayLike<number>, threshold = 0.5): number {
  if (p.length <= 2) return Number(p[p.length - 1] >= threshold);
  let best = 0;
  for (let c = 1; c < p.length; c++) if (p[c] > p[best]) best = c;
  return best;
}

/** Maps one original class (0-9) to its label in `scheme`. */
export function labelOf(originalClass: number, scheme: LabelScheme): number {
  return scheme === 'binary' ? BINARY_OF[originalClass] : scheme === 'visual' ? VISUAL_OF[originalClass] : originalClass;
}

/** Which classes of `scheme` are real (the positive class of the paper): evaluate sums their probabilities into p(real). */
export function realClasses(scheme: LabelScheme): number[] {
  return classNames(scheme)
    .map((_, c) => c)
    .filter((c) => (scheme === 'binary' ? c === 1 : scheme === 'visual' ? c === 2 : labelOf(c, 'binary') === 1));
}

/**
 * Finds the class a cutout folder's name stands for: one of the ten original
 * names, or `real` / `not-real`, ignoring case, spaces, '-' and '_'
 * ("sn_gold", "SN-Gold" and "SN Gold" are one class; "artifact" is accepted too).
 */
export function parseClassFolder(name: string): { scheme: 'original' | 'binary'; label: number } | undefined {
  const key = name.toLowerCase().replace(/[\s_-]+/g, '');
  const original = ORIGINAL_CLASSES.findIndex((c) => c.toLowerCase().replace(/\s+/g, '') === key);
  if (original >= 0) return { scheme: 'original', label: original };
  if (key === 'artifact') return { scheme: 'original', label: 0 };
  if (key === 'notreal') return { scheme: 'binary', label: 0 };
  if (key === 'real') return { scheme: 'binary', label: 1 };
  return undefined;
}
