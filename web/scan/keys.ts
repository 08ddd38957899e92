// The key map, keyboard first: one table drives both the handler and the
// help overlay (`?`), so the two cannot disagree. Label keys depend on the
// scheme's choices: r / b / u for real, bogus, unsure; 1-9 (and 0 for a
// tenth) for the classes of a multi-class scheme, with u for unsure.
import { UNSURE } from '../../src/data/scan-choices.ts';

export type Action =
  | { kind: 'label'; label: string }
  | { kind: 'next' | 'previous' | 'undo' | 'saliency' | 'stretch' | 'view' | 'help' | 'close' };

export interface Binding {
  /** KeyboardEvent.key values. */
  keys: string[];
  action: Action;
  /** What the help overlay says. */
  what: string;
}

const NAMES: Record<string, string> = { ' ': 'space', ArrowRight: '→', ArrowLeft: '←', Escape: 'Esc' };
export const keyName = (key: string): string => NAMES[key] ?? key;

export function keyMap(choices: readonly string[]): Binding[] {
  const label = (keys: string[], value: string): Binding => ({ keys, action: { kind: 'label', label: value }, what: `label ${value}` });
  const classes = choices.filter((c) => c !== UNSURE);
  const labels =
    classes.length === 2 && classes.includes('real') && classes.includes('bogus')
      ? [label(['r'], 'real'), label(['b'], 'bogus')]
      : classes.slice(0, 10).map((c, i) => label([String((i + 1) % 10)], c));
  if (choices.includes(UNSURE)) labels.push(label(['u'], UNSURE));
  return [
    ...labels,
    { keys: [' ', 'ArrowRight'], action: { kind: 'next' }, what: 'next candidate' },
    { keys: ['ArrowLeft'], action: { kind: 'previous' }, what: 'previous candidate' },
    { keys: ['z'], action: { kind: 'undo' }, what: 'undo the last label (its earlier label is sent back)' },
    { keys: ['s'], action: { kind: 'saliency' }, what: 'saliency overlay on or off (single candidate)' },
    { keys: ['t'], action: { kind: 'stretch' }, what: 'next stretch' },
    { keys: ['g'], action: { kind: 'view' }, what: 'grid or single candidate' },
    { keys: ['?'], action: { kind: 'help' }, what: 'this help' },
    { keys: ['Escape'], action: { kind: 'close' }, what: 'close the help' },
  ];
}

/** A form field that takes keys itself (a number box, a slider, a menu); checkboxes and buttons do not. */
function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.tagName === 'SELECT' || target.tagName === 'TEXTAREA') return true;
  return target instanceof HTMLInputElement && target.type !== 'checkbox' && target.type !== 'button';
}

/** The action of a key press, or null for a key the map does not have (or one typed into a form field, or with a modifier). */
export function actionFor(event: KeyboardEvent, bindings: readonly Binding[]): Action | null {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  if (typing(event.target)) return null;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  return bindings.find((b) => b.keys.includes(key))?.action ?? null;
}
