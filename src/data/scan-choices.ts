// What a scanner may call a candidate under each label scheme, and the
// record one call becomes in the labels file (scan-labels.ts): binary is
// 'real' or 'bogus', the visual and original schemes their class names, and
// every scheme has 'unsure', which is kept in the file but never trained on.
//
// Platform-free: no Node built-in.
import { classNames, isLabelScheme, type LabelScheme } from './labels.ts';

export const UNSURE = 'unsure';

/** Binary's choices by class index (0 not real, 1 real), as the scanner says them. */
const BINARY_CHOICES = ['bogus', 'real'] as const;

/** The label values a scheme allows, in key order: binary real, bogus, unsure; else the class names, then unsure. */
export function scanChoices(scheme: LabelScheme): readonly string[] {
  return scheme === 'binary' ? ['real', 'bogus', UNSURE] : [...classNames(scheme), UNSURE];
}

/** The choice that names class `c` of `scheme`. */
export function choiceOfClass(scheme: LabelScheme, c: number): string {
  return scheme === 'binary' ? BINARY_CHOICES[c] : classNames(scheme)[c];
}

/** The class index of a choice; null for 'unsure', undefined when the scheme has no such choice. */
export function classOfChoice(scheme: LabelScheme, label: string): number | null | undefined {
  if (label === UNSURE) return null;
  const c = (scheme === 'binary' ? (BINARY_CHOICES as readonly string[]) : classNames(scheme)).indexOf(label);
  return c < 0 ? undefined : c;
}

/** One line of the labels file: a scanner's call on a candidate. */
export interface ScanLabel {
  id: string;
  label: string;
  scheme: LabelScheme;
  /** When the server wrote it, ISO 8601. */
  time: string;
  /** The model's score for the candidate when it was labelled, if the page had one. */
  score: number | null;
  /** The page (one per tab) that sent it, and its running number there: (client, seq) is sent once however often it is retried. */
  client: string;
  seq: number;
}

/** The longest client name: a page's random id, not a free text. */
export const CLIENT_LENGTH = 64;

/**
 * What is wrong with a would-be label (all of ScanLabel's fields but `time`),
 * or null: one phrase, for an HTTP 400 or a file's error line.
 */
export function labelProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a label is a JSON object {id, label, scheme, score, client, seq}';
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || v.id === '') return `id must be a non-empty string, got ${shown(v.id)}`;
  if (typeof v.scheme !== 'string' || !isLabelScheme(v.scheme)) return `scheme must be binary, visual or original, got ${shown(v.scheme)}`;
  if (typeof v.label !== 'string' || classOfChoice(v.scheme, v.label) === undefined) return `label must be one of ${scanChoices(v.scheme).join(', ')} (scheme ${v.scheme}), got ${shown(v.label)}`;
  if (!(v.score === null || (typeof v.score === 'number' && v.score >= 0 && v.score <= 1))) return `score must be null or a number in [0, 1], got ${shown(v.score)}`;
  if (typeof v.client !== 'string' || v.client === '' || v.client.length > CLIENT_LENGTH || /[\u0000-\u001f]/.test(v.client)) return `client must be a string of 1-${CLIENT_LENGTH} printable characters, got ${shown(v.client)}`;
  if (!(typeof v.seq === 'number' && Number.isSafeInteger(v.seq) && v.seq >= 0)) return `seq must be a non-negative integer, got ${shown(v.seq)}`;
  return null;
}

/** A value in a message, cut short. */
function shown(v: unknown): string {
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
