// The two ways to look at candidates: one large candidate with its score,
// uncertainty, id and label, or a grid of a page of them (the current one
// outlined). Both draw from the same state; the grid redraws its tiles only
// when the page of tiles or the look changes, and otherwise only updates the
// outline and the labels, so a key press stays cheap.
import { valuesPerSample } from '../../src/data/dataset.ts';
import type { Session } from './api.ts';
import { cutoutElement } from './cutout.ts';
import { truthOf } from './real-or-bogus.ts';
import type { Stretch } from './stretch.ts';

/** The label the page shows for a candidate; `saved` once the server answered for its latest key press. */
export interface ShownLabel {
  label: string;
  saved: boolean;
  /** The key press it came from (this page's or a queued one); absent for one read from the server. */
  client?: string;
  seq?: number;
}

export interface ScanState {
  session: Session;
  inputs: Float32Array;
  /** p(real) per candidate, null until scored. */
  scores: Float64Array | null;
  /** The spread of p(real) over flips and rotations, per candidate, null until measured (or when the server scored). */
  uncertainty: Float32Array | null;
  /** BALD over MC-dropout passes, for a network with dropout. */
  bald: Float32Array | null;
  labels: Map<string, ShownLabel>;
  /** Candidate indices in scanning order, and the position of the current one in it. */
  order: number[];
  cursor: number;
  stretch: Stretch;
  saliency: boolean;
}

const GRID_PAGE = 64;

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const digits = (v: number | undefined | null, n = 4) => (v === undefined || v === null ? '–' : v.toFixed(n));

/** Screen pixels per cutout pixel: the single view makes a 69-pixel composite about 280 px wide, the grid half that. */
function scaleFor(session: Session, grid: boolean): number {
  const target = grid ? (session.layout === 'triplet' ? 150 / session.shape[2] : 140) : session.layout === 'triplet' ? 200 : 280;
  return Math.max(1, Math.floor(target / session.shape[1]));
}

function pixelsOf(state: ScanState, index: number): Float32Array {
  const v = valuesPerSample(state.session.shape);
  return state.inputs.subarray(index * v, (index + 1) * v);
}

export const currentIndex = (state: ScanState): number | undefined => state.order[state.cursor];

/** The single-candidate view; `saliency` is the current candidate's map when the overlay is on. */
export function renderSingle(state: ScanState, saliency: Float32Array | null): void {
  const index = currentIndex(state);
  byId('counter').textContent = state.order.length ? `${state.cursor + 1} of ${state.order.length}` : '0 of 0';
  const host = byId('cutout');
  if (index === undefined) {
    host.replaceChildren();
    for (const id of ['candidate-id', 'score', 'uncertainty']) byId(id).textContent = '–';
    byId('label').textContent = 'none';
    delete byId('label').dataset.saved;
    return;
  }
  host.replaceChildren(cutoutElement(pixelsOf(state, index), state.session, { stretch: state.stretch, scale: scaleFor(state.session, false), saliency }));
  host.dataset.saliency = saliency ? 'on' : 'off';
  // The map's largest value, for scripts that compare it with `handscan explain`'s index.json.
  if (saliency) host.dataset.saliencyPeak = String(saliency.reduce((a, v) => Math.max(a, v), 0));
  else delete host.dataset.saliencyPeak;
  const id = state.session.ids[index];
  byId('candidate-id').textContent = id;
  byId('score').textContent = digits(state.scores?.[index]);
  byId('uncertainty').textContent = state.uncertainty ? `${digits(state.uncertainty[index])} (spread over flips and rotations)${state.bald ? `; BALD ${digits(state.bald[index])}` : ''}` : '–';
  const shown = state.labels.get(id);
  const label = byId('label');
  label.textContent = shown?.label ?? 'none';
  if (shown) label.dataset.saved = String(shown.saved);
  else delete label.dataset.saved;
}

let drawn: { first: number; key: string } | null = null;

function markTile(tile: HTMLElement, state: ScanState, index: number): void {
  const shown = state.labels.get(state.session.ids[index]);
  tile.classList.toggle('current', index === currentIndex(state));
  if (shown) {
    tile.dataset.label = shown.label;
    tile.dataset.saved = String(shown.saved);
    tile.dataset.real = String(truthOf(shown.label, state.session.scheme) ?? '');
  } else {
    for (const k of ['label', 'saved', 'real']) delete tile.dataset[k];
  }
  tile.querySelector('.badge')!.textContent = shown?.label ?? '';
}

/** The grid view: the page of GRID_PAGE candidates that holds the current one; a click on a tile opens it. */
export function renderGrid(state: ScanState, open: (position: number) => void): void {
  const first = Math.floor(state.cursor / GRID_PAGE) * GRID_PAGE;
  const positions = state.order.slice(first, first + GRID_PAGE);
  byId('grid-counter').textContent = `${state.order.length ? first + 1 : 0}-${first + positions.length} of ${state.order.length}; candidate ${state.cursor + 1} outlined`;
  const grid = byId('grid');
  // What the tiles' pictures depend on; the labels and outline are updated in place.
  const key = `${positions.join(',')}|${state.stretch}|${state.scores ? 'scored' : ''}|${state.uncertainty ? 'u' : ''}`;
  if (drawn?.first !== first || drawn.key !== key) {
    const scale = scaleFor(state.session, true);
    grid.replaceChildren(
      ...positions.map((index, k) => {
        const tile = document.createElement('div');
        tile.className = 'tile';
        tile.dataset.index = String(index);
        const caption = document.createElement('div');
        const u = state.uncertainty ? ` ±${digits(state.uncertainty[index], 2)}` : '';
        caption.textContent = `${state.session.ids[index]} p=${digits(state.scores?.[index], 3)}${u} `;
        const badge = document.createElement('span');
        badge.className = 'badge';
        caption.append(badge);
        tile.append(cutoutElement(pixelsOf(state, index), state.session, { stretch: state.stretch, scale, saliency: null }), caption);
        tile.addEventListener('click', () => open(first + k));
        return tile;
      }),
    );
    drawn = { first, key };
  }
  for (const tile of grid.children) markTile(tile as HTMLElement, state, Number((tile as HTMLElement).dataset.index));
}
