// The scanning page (web/scan.html, served by `handscan scan`): the
// candidates of the server's dataset, scored by the server's checkpoint on
// this browser's WebGPU, looked at one by one or in a grid and labelled from
// the keyboard; every label goes to the server's labels file through a queue
// that survives a dead server and a reload; live figures on what has been
// labelled; and a retrain on those labels. `?batch=N` caps the inference
// batch (as `predict --batch-size`); `?token=T` is the server's token.
import type { Dataset } from '../../src/data/dataset.ts';
import type { Engine } from '../../src/kernels/engine.ts';
import { api, type Session } from './api.ts';
import { drawFigures, figures } from './figures.ts';
import { actionFor, keyMap, keyName, type Action, type Binding } from './keys.ts';
import { LabelQueue, type QueuedLabel } from './label-queue.ts';
import { orderCandidates, type OrderBy } from './order.ts';
import { realScores, truthOf } from './real-or-bogus.ts';
import { movedAcross, retrain } from './retrain.ts';
import { fetchInputs, inputDataset, loadNetwork, pageEngine, saliencyInPage, scoreInPage, scoreOnServer, uncertaintyInPage, type PageNetwork, type Scored } from './scorer.ts';
import { nextStretch, STRETCHES, type Stretch } from './stretch.ts';
import { currentIndex, renderGrid, renderSingle, type ScanState } from './views.ts';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const batch = Number(new URLSearchParams(location.search).get('batch'));

/** The state (busy, ready, error) is also an attribute, for scripts that drive the page. */
function setStatus(state: 'busy' | 'ready' | 'error', text: string): void {
  byId('status').dataset.state = state;
  byId('status').textContent = text;
}

const message = (text: string) => (byId('message').textContent = text);

let state: ScanState;
let engine: Engine | string;
let queue: LabelQueue;
let bindings: Binding[];
let data: Dataset;
/** The model the page scores with; null when the server scored. */
let net: PageNetwork | null = null;
let grid = false;
/** Saliency maps by model version and candidate. */
const saliencies = new Map<string, Float32Array>();
/** The page's GPU work, one task at a time (scoring, uncertainty, saliency share one engine). */
let gpuQueue: Promise<unknown> = Promise.resolve();
const onGpu = <T>(task: () => Promise<T>): Promise<T> => {
  const run = gpuQueue.then(task);
  gpuQueue = run.catch(() => undefined);
  return run;
};
const indexOf = new Map<string, number>();
/** Key presses that can be undone: where the candidate was and the label it had before. */
const undoStack: { index: number; before: string | null }[] = [];

function render(): void {
  byId('single').hidden = grid;
  byId('grid-view').hidden = !grid;
  byId('toggle-saliency').setAttribute('aria-pressed', String(state.saliency));
  if (grid) renderGrid(state, (position) => {
    state.cursor = position;
    grid = false;
    render();
  });
  else renderSingle(state, state.saliency ? saliencyOf(currentIndex(state)) : null);
}

/** The current candidate's saliency map if it is known; else starts it and draws again when it is. */
function saliencyOf(index: number | undefined): Float32Array | null {
  if (index === undefined) return null;
  if (!net) {
    message('saliency needs WebGPU in this page; the server scored these candidates');
    return null;
  }
  const key = `${net.version}:${index}`;
  const known = saliencies.get(key);
  if (known) return known;
  const model = net;
  onGpu(() => saliencyInPage(model, data, index)).then(
    (map) => {
      saliencies.set(key, map);
      if (state.saliency && currentIndex(state) === index && !grid) render();
    },
    (e: Error) => message(`saliency: ${e.message}`),
  );
  return null;
}

/**
 * Recomputes the scanning order from the controls. New scores keep the
 * current candidate on screen (when it is still in the order); a change of
 * the controls starts the new order from its first candidate.
 */
function reorder(keep: boolean): void {
  const current = keep ? currentIndex(state) : undefined;
  state.order = orderCandidates(
    { ids: state.session.ids, scores: state.scores, uncertainty: state.uncertainty, labelled: (i) => state.labels.has(state.session.ids[i]) },
    { by: byId<HTMLSelectElement>('order').value as OrderBy, unlabelledOnly: byId<HTMLInputElement>('unlabelled').checked, band: [Number(byId<HTMLInputElement>('band-min').value), Number(byId<HTMLInputElement>('band-max').value)] },
  );
  state.cursor = Math.max(0, current === undefined ? 0 : state.order.indexOf(current));
  render();
}

function move(step: number): void {
  state.cursor = Math.min(Math.max(state.cursor + step, 0), Math.max(state.order.length - 1, 0));
  render();
}

/** Queues the label (localStorage first), shows it as sending until the server answers. */
function send(index: number, label: string): void {
  const score = state.scores ? Math.min(1, Math.max(0, state.scores[index])) : null;
  const queued = queue.add({ id: state.session.ids[index], label, scheme: state.session.scheme, score });
  state.labels.set(queued.id, { label, saved: false, client: queued.client, seq: queued.seq });
}

function labelCurrent(label: string): void {
  const index = currentIndex(state);
  if (index === undefined) return;
  undoStack.push({ index, before: state.labels.get(state.session.ids[index])?.label ?? null });
  send(index, label);
  message('');
  drawFiguresNow();
  if (state.cursor < state.order.length - 1) move(1);
  else render();
}

function undo(): void {
  const last = undoStack.pop();
  if (!last) return void message('nothing to undo');
  const id = state.session.ids[last.index];
  const position = state.order.indexOf(last.index);
  if (position >= 0) state.cursor = position;
  if (last.before === null) message(`${id} had no label before this one: press a label key to change it`);
  else {
    send(last.index, last.before);
    message(`${id}: back to ${last.before}`);
  }
  drawFiguresNow();
  render();
}

function perform(action: Action): void {
  switch (action.kind) {
    case 'label':
      return labelCurrent(action.label);
    case 'next':
      return move(1);
    case 'previous':
      return move(-1);
    case 'undo':
      return undo();
    case 'saliency':
      state.saliency = !state.saliency;
      return render();
    case 'stretch':
      state.stretch = nextStretch(state.stretch);
      byId<HTMLSelectElement>('stretch').value = state.stretch;
      return render();
    case 'view':
      grid = !grid;
      return render();
    case 'help':
      byId('help').hidden = !byId('help').hidden;
      return;
    case 'close':
      byId('help').hidden = true;
  }
}

/** The figures on every candidate with a real or bogus label, at the slider's threshold. */
function drawFiguresNow(): void {
  const threshold = Number(byId<HTMLInputElement>('threshold').value);
  byId('threshold-value').textContent = threshold.toFixed(2);
  const scores: number[] = [];
  const truth: number[] = [];
  for (const [id, shown] of state.labels) {
    const y = truthOf(shown.label, state.session.scheme);
    const i = indexOf.get(id);
    if (y === null || i === undefined || !state.scores) continue;
    scores.push(state.scores[i]);
    truth.push(y);
  }
  const text = byId('figures-text');
  if (scores.length === 0) {
    text.textContent = state.scores ? 'no real or bogus labels yet' : 'waiting for scores';
    byId('plots').replaceChildren();
    return;
  }
  const f = figures(scores, truth, threshold);
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  text.textContent =
    `${f.count} labelled real or bogus (${f.real} real). At threshold ${threshold.toFixed(2)}: precision ${pct(f.at.precision)}, recall ${pct(f.at.recall)}, ` +
    `fall-out ${pct(f.at.fpr)}, accuracy ${pct(f.at.accuracy)}. ROC AUC ${Number.isFinite(f.auc) ? f.auc.toFixed(4) : 'n/a (one class only)'}, ECE ${f.calibration.ece.toFixed(4)}, Brier ${f.calibration.brier.toFixed(4)}.`;
  Object.assign(text.dataset, { count: f.count, precision: f.at.precision, recall: f.at.recall, fpr: f.at.fpr, auc: f.auc, ece: f.calibration.ece });
  byId('plots').replaceChildren(...drawFigures(f));
}

/**
 * Scores every candidate (in the page, else on the server), then measures
 * their uncertainty, redrawing what depends on each. `keep`: the scanner
 * stays on the candidate on screen (a retrain's new scores); else the scan
 * starts from the top of the order once it is known.
 */
async function score(keep: boolean): Promise<void> {
  const s = state.session;
  let scored: Scored;
  if (typeof engine === 'string') {
    setStatus('busy', 'the server is scoring…');
    scored = await scoreOnServer(s);
    byId('scored-by').dataset.where = 'server';
    byId('scored-by').textContent = `This browser has no WebGPU adapter (${engine}), so the server scored these candidates on its own GPU (${scored.adapter}): ${s.count} in ${scored.seconds.toFixed(2)} s.`;
  } else {
    const g = engine;
    setStatus('busy', 'loading the weights…');
    net = await onGpu(() => loadNetwork(g, s));
    const model = net;
    scored = await onGpu(() => scoreInPage(g, model, data, (done) => setStatus('busy', `scored ${done} of ${s.count} candidates…`)));
    byId('scored-by').dataset.where = 'page';
    byId('scored-by').textContent = `Scored in this page with WebGPU: ${s.count} cutouts in ${scored.seconds.toFixed(2)} s, ${(s.count / scored.seconds).toFixed(1)} per second.`;
  }
  byId('adapter').textContent = scored.adapter;
  state.scores = realScores(scored.probs, scored.width);
  state.uncertainty = state.bald = null;
  reorder(keep);
  drawFiguresNow();
  if (net) {
    const model = net;
    setStatus('busy', 'measuring uncertainty (flips and rotations)…');
    const u = await onGpu(() => uncertaintyInPage(model, data));
    [state.uncertainty, state.bald] = [u.tta, u.bald];
    reorder(keep);
  }
  offerDownload(scored);
  setStatus('ready', `model v${scored.version} (${s.model.name}); ${state.labels.size} of ${s.count} labelled`);
}

/** The page's numbers as a file to take away: each candidate's probabilities, and its uncertainty where the page measured it. */
function offerDownload(scored: Scored): void {
  const link = byId<HTMLAnchorElement>('scores-json');
  if (link.href) URL.revokeObjectURL(link.href);
  const { ids, model } = state.session;
  const numbers = { ...scored, ids, columns: model.columns, probs: Array.from(scored.probs), tta: state.uncertainty && Array.from(state.uncertainty), bald: state.bald && Array.from(state.bald) };
  link.href = URL.createObjectURL(new Blob([JSON.stringify(numbers)], { type: 'application/json' }));
  link.download = `scores-v${scored.version}.json`;
  link.hidden = false;
}

function showQueue(count: number, problem: string | null): void {
  const q = byId('queue');
  q.dataset.state = problem ? 'error' : count ? 'waiting' : 'idle';
  q.textContent = count === 0 ? 'every label saved' : `${count} label${count === 1 ? '' : 's'} waiting for the server${problem ? `: ${problem}; retrying` : ''}`;
}

/** A queued label the server answered for: shown as saved when it is the latest key press for its candidate. */
function settled(label: QueuedLabel, saved: boolean, reason = ''): void {
  const shown = state.labels.get(label.id);
  if (!shown || shown.client !== label.client || shown.seq !== label.seq) return;
  if (saved) shown.saved = true;
  else {
    state.labels.delete(label.id);
    message(`${label.id}: not saved: ${reason}`);
    drawFiguresNow();
  }
  render();
}

async function runRetrain(): Promise<void> {
  const button = byId<HTMLButtonElement>('retrain-start');
  const log = byId('retrain-log');
  button.disabled = true;
  log.hidden = false;
  try {
    const epochs = byId<HTMLInputElement>('retrain-epochs').value;
    const status = await retrain(epochs === '' ? undefined : Number(epochs), (s) => {
      byId('retrain-state').textContent = s.state === 'running' ? 'training…' : s.state === 'done' ? 'trained; loading the new weights…' : s.state;
      log.textContent = s.lines.join('\n');
      log.scrollTop = log.scrollHeight;
    });
    if (status.state !== 'done') throw new Error(status.error ?? `retrain ${status.state}`);
    const before = state.scores;
    state.session = await api.session();
    await score(true);
    const threshold = Number(byId<HTMLInputElement>('threshold').value);
    const { up, down } = before ? movedAcross(before, state.scores!, threshold) : { up: 0, down: 0 };
    byId('retrain-state').textContent = `done: ${status.run ?? 'new run'}, model v${state.session.model.version}; ${up} moved above and ${down} below the threshold ${threshold.toFixed(2)}`;
  } catch (e) {
    byId('retrain-state').textContent = `failed: ${(e as Error).message}`;
  } finally {
    button.disabled = false;
  }
}

function controls(session: Session): void {
  const stretch = byId<HTMLSelectElement>('stretch');
  stretch.replaceChildren(...STRETCHES.map((s) => Object.assign(document.createElement('option'), { value: s, textContent: s })));
  stretch.value = state.stretch;
  stretch.addEventListener('change', () => {
    state.stretch = stretch.value as Stretch;
    render();
  });
  for (const id of ['order', 'unlabelled', 'band-min', 'band-max']) byId(id).addEventListener('change', () => reorder(false));
  // A menu or box keeps the keyboard once used; give it back to the scanner.
  for (const id of ['order', 'stretch', 'unlabelled']) byId(id).addEventListener('change', (e) => (e.target as HTMLElement).blur());
  const threshold = byId<HTMLInputElement>('threshold');
  threshold.value = String(session.threshold);
  threshold.addEventListener('input', drawFiguresNow);
  byId('toggle-view').addEventListener('click', () => perform({ kind: 'view' }));
  byId('toggle-saliency').addEventListener('click', () => perform({ kind: 'saliency' }));
  byId('show-help').addEventListener('click', () => perform({ kind: 'help' }));
  byId('close-help').addEventListener('click', () => perform({ kind: 'close' }));
  byId('previous').addEventListener('click', () => perform({ kind: 'previous' }));
  byId('next').addEventListener('click', () => perform({ kind: 'next' }));
  byId('undo').addEventListener('click', () => perform({ kind: 'undo' }));
  byId('retrain-start').addEventListener('click', () => void runRetrain());

  const kbd = (b: Binding) => b.keys.map((k) => `<kbd>${keyName(k)}</kbd>`).join(' ');
  byId('label-buttons').replaceChildren(
    ...bindings.flatMap((b) => {
      if (b.action.kind !== 'label') return [];
      const action = b.action;
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.label = action.label;
      button.innerHTML = kbd(b);
      button.append(` ${action.label}`);
      button.addEventListener('click', () => perform(action));
      return [button];
    }),
  );
  byId('help-keys').replaceChildren(
    ...bindings.map((b) => {
      const row = document.createElement('tr');
      row.innerHTML = `<td>${kbd(b)}</td><td></td>`;
      row.cells[1].textContent = b.what;
      return row;
    }),
  );
  // A clicked button keeps the focus, and a later space would press it again: the keyboard goes back to the page.
  document.addEventListener('click', (event) => (event.target as Element).closest?.('button')?.blur());
  document.addEventListener('keydown', (event) => {
    const action = actionFor(event, bindings);
    if (!action) return;
    event.preventDefault();
    perform(action);
  });
}

async function start(): Promise<void> {
  setStatus('busy', 'reading the session…');
  const session = await api.session();
  byId('data').textContent = `${session.data}: ${session.count} candidates, ${session.shape.join('×')} ${session.layout} (${session.channels.join(', ')}), ${session.scheme} labels`;
  session.ids.forEach((id, i) => indexOf.set(id, i));
  const [inputs, opened, saved] = await Promise.all([fetchInputs(session, (done) => setStatus('busy', `fetched ${done} of ${session.count} cutouts…`)), pageEngine(batch), api.labels()]);
  engine = opened;
  data = inputDataset(inputs, session);
  state = { session, inputs, scores: null, uncertainty: null, bald: null, labels: new Map(), order: [], cursor: 0, stretch: session.layout === 'triplet' ? 'zscale' : 'linear', saliency: false };
  for (const [id, l] of Object.entries(saved)) state.labels.set(id, { label: l.label, saved: true });
  queue = new LabelQueue(session.data, { saved: (l) => settled(l, true), refused: (l, reason) => settled(l, false, reason), waiting: showQueue });
  // What an earlier page queued and the server has not confirmed is newer than the file: show it, as sending.
  for (const l of queue.pending()) state.labels.set(l.id, { label: l.label, saved: false, client: l.client, seq: l.seq });
  bindings = keyMap(session.choices);
  controls(session);
  reorder(false);
  void queue.flush();
  await score(false);
}

start().catch((e: Error) => setStatus('error', e.message));
