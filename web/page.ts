// The scanning page (web/index.html): the user picks a checkpoint and a
// survey, every cutout is scored with WebGPU in this browser, and the page
// shows the scores and the adapter they ran on. `?batch=N` caps the
// inference batch (as `predict --batch-size`).
import { predictedClass } from '../src/data/labels.ts';
import type { Engine } from '../src/kernels/engine.ts';
import { openEngine } from '../src/platform/browser/engine.ts';
import { describeAdapter, scoreSurvey, type PickedFile, type Scores } from './score.ts';

const element = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const form = element<HTMLFormElement>('scan');
const status = element<HTMLElement>('status');
const adapter = element<HTMLElement>('adapter');
const table = element<HTMLTableElement>('scores');

const batch = Number(new URLSearchParams(location.search).get('batch'));

/** The state (busy, ready, done, error) is also an attribute, for scripts that drive the page. */
function setStatus(state: 'busy' | 'ready' | 'done' | 'error', text: string): void {
  status.dataset.state = state;
  status.textContent = text;
}

/** An engine for one task, closed afterwards (its GPU memory goes with it). */
async function withEngine<T>(task: (g: Engine) => Promise<T>): Promise<T> {
  const g = await openEngine(batch > 0 ? { inferenceBatch: batch } : {});
  try {
    adapter.textContent = describeAdapter(g);
    return await task(g);
  } finally {
    g.destroy();
  }
}

async function picked(id: string): Promise<PickedFile> {
  const file = element<HTMLInputElement>(id).files?.[0];
  if (!file) throw new Error(`choose a ${id} file first`);
  return { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
}

function row(cells: string[], tag: 'td' | 'th'): HTMLTableRowElement {
  const tr = document.createElement('tr');
  for (const text of cells) tr.appendChild(document.createElement(tag)).textContent = text;
  return tr;
}

/** One row per cutout: id, the file's class, a probability per output (6 digits, as predict's CSV), the top class. */
function showScores({ classes, columns, ids, truth, probs }: Scores): void {
  const k = columns.length;
  const body = document.createElement('tbody');
  truth.forEach((label, i) => {
    const p = probs.subarray(i * k, (i + 1) * k);
    body.appendChild(row([ids[i], label, ...Array.from(p, (v) => v.toPrecision(6)), classes[predictedClass(p)]], 'td'));
  });
  const head = document.createElement('thead');
  head.appendChild(row(['id', 'class in file', ...columns.map((c) => `p(${c})`), 'prediction'], 'th'));
  table.replaceChildren(head, body);
}

/** Reads both files, scores every cutout on a fresh engine, shows the table. */
async function scan(): Promise<void> {
  setStatus('busy', 'reading files…');
  const [checkpoint, survey] = await Promise.all([picked('checkpoint'), picked('survey')]);
  const scores = await withEngine((g) => scoreSurvey(g, checkpoint, survey, (done, total) => setStatus('busy', `scored ${done} of ${total} cutouts…`)));
  showScores(scores);
  const n = scores.truth.length;
  setStatus('done', `${n} cutouts in ${scores.seconds.toFixed(1)} s (${(n / scores.seconds).toFixed(1)} per second)`);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  scan().catch((e: Error) => setStatus('error', e.message));
});

// Opening an engine at once shows the adapter before any file is picked, or why there is none.
withEngine(async () => setStatus('ready', 'pick a checkpoint and a survey')).catch((e: Error) => setStatus('error', e.message));
