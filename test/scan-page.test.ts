// The scanning page end to end: a real `handscan scan` server process on a
// small simulated survey, headless Chromium on its own WebGPU, and a scanner
// at the keyboard. The page's scores must be Node's `predict`'s; 30 labels
// given by key, through a SIGKILL of the server, a tab closed while it was
// down and its restart on the same labels file, must all be in that file and
// on the page after a reload; its
// uncertainty and saliency must be predict's and explain's; the live figures
// must agree with `evaluate` on the same labels; a browser without WebGPU
// must be told that the server scored; a retrain from the page must leave it
// scoring with the new checkpoint. Screenshots of the grid, of one candidate
// with its saliency overlay, and of the figures go to docs/.
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb, ROOT } from '../scripts/build-web.ts';
import { inferenceSource, type Dataset } from '../src/data/dataset.ts';
import { writeSdssHdf5 } from '../src/data/hdf5.ts';
import { labelOf } from '../src/data/labels.ts';
import { readScanLabels } from '../src/data/scan-labels.ts';
import { DEFAULT_DIFFICULTY, simulateSurvey } from '../src/data/simulator/survey.ts';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { buildModel } from '../src/nn/sequential.ts';
import { saveCheckpoint } from '../src/train/checkpoint.ts';
import { predictAll } from '../src/train/fit.ts';
import { binaryMetrics } from '../src/train/metrics.ts';
import { launchChromium } from './support/browser.ts';
import { handscan } from './support/cli.ts';
import { TEST_SEED } from './support/random.ts';
import { startScan, type ScanProcess } from './support/scan-server.ts';
import { tinySpec } from './support/tiny-checkpoint.ts';

/** The page's probabilities against Node's `predict`, absolute. */
const SAME_SCORES = 1e-5;
/** The figures against `evaluate`'s on the same labels (the page's scores differ from Node's by at most SAME_SCORES), and the uncertainty and saliency against predict's and explain's. */
const SAME_FIGURES = 1e-4;
/** The page's MC-dropout (web/scan/scorer.ts), which predict repeats. */
const MC = ['--mc-dropout', '16', '--seed', '1'];
/** Ten classes, 64 candidates, a third of them bogus. */
const COUNTS = [7, 7, 6, 6, 6, 6, 6, 6, 7, 7];
const LABELLED = 30;
/** The server dies after this many key presses and comes back a few presses later. */
const KILL_AFTER = 15;
const TOKEN = `t${TEST_SEED}`;
const DOCS = join(ROOT, 'docs');

let tmp: string;
let browser: Browser | undefined;
let page: Page;
let server: ScanProcess | undefined;
let url: string;
let port = 0;
let survey: Dataset;
const files = { survey: '', weights: '', labels: '', predicted: '', explained: '' };
const pageErrors: string[] = [];
/** Node's predict: p(real), the spread over flips and rotations and BALD per candidate id. */
const nodeScores = new Map<string, number>();
const nodeTta = new Map<string, number>();
const nodeBald = new Map<string, number>();
/** `handscan explain`'s saliency peak per candidate id. */
const nodeSaliency = new Map<string, number>();
/** What the scanner pressed last for each candidate (the truth: r for the real classes, b for the rest). */
const given = new Map<string, string>();

/** The tiny network with dropout (so that MC-dropout runs in the page too), its scores spread over (0, 1) around 0.5. */
async function writeCheckpoint(path: string): Promise<void> {
  const model = buildModel(tinySpec(true), cpuBackend, TEST_SEED);
  const probs = await predictAll(model, inferenceSource(survey, 2));
  const margins = Array.from({ length: probs.length / 2 }, (_, i) => Math.log(probs[2 * i + 1] / probs[2 * i])).sort((a, b) => a - b);
  const mean = margins.reduce((a, b) => a + b, 0) / margins.length;
  const spread = Math.sqrt(margins.reduce((a, m) => a + (m - mean) ** 2, 0) / margins.length);
  // The margin z1 − z0 is linear in the last layer: scale it to a spread of 1.5 and centre its median on 0.
  const f = 1.5 / spread;
  const weights = await model.getWeights();
  const last = weights.at(-1)!.weights;
  for (const w of last) w.values.forEach((v, i) => (w.values[i] = f * v));
  last.find((w) => w.name === 'bias')!.values[1] -= f * margins[margins.length >> 1];
  model.setWeights(weights);
  // A stored temperature, so that the page must calibrate as predict does.
  await saveCheckpoint(path, model, { preprocess: 'scale255', temperature: 1.3 });
}

/** Starts `handscan scan` on the labels file, behind a token the page must pass on: first on any free port, then again on that one; resolves with the URL it prints. */
async function startServer(): Promise<string> {
  server = await startScan(['--data', files.survey, '--weights', files.weights, '--labels', files.labels, '--port', String(port), '--host', '127.0.0.1', '--token', TOKEN], tmp);
  port = Number(new URL(server.url).port);
  return server.url;
}

async function killServer(): Promise<void> {
  const s = server;
  if (!s || s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  s.proc.kill('SIGKILL');
  await s.exited;
}

/** One column of a CSV of numbers, by the first column (the id). */
function csvColumn(path: string, name: string): Map<string, number> {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const column = head.split(',').indexOf(name);
  if (column < 0) throw new Error(`${path} has no column ${name}: ${head}`);
  return new Map(rows.map((row) => [row.split(',')[0], Number(row.split(',')[column])]));
}

/** Waits until the page has scored (and measured uncertainty): its status is then ready, or an error. */
async function waitReady(p: Page = page): Promise<void> {
  await p.waitForSelector('#status:not([data-state="busy"])', { timeout: 240_000 });
  const status = await p.$eval('#status', (e) => ({ state: (e as HTMLElement).dataset.state, text: e.textContent }));
  expect(status, `the page's status (page errors: ${pageErrors.join('; ') || 'none'})`).toMatchObject({ state: 'ready' });
}

const text = (selector: string, p: Page = page) => p.$eval(selector, (e) => e.textContent ?? '');

/** A new tab on the server's page, once it has scored. */
async function openPage(): Promise<Page> {
  const p = await browser!.newPage();
  await p.setViewport({ width: 1400, height: 1000 });
  p.on('pageerror', (e) => pageErrors.push((e as Error).message));
  await p.goto(url);
  await waitReady(p);
  return p;
}

/** The page's numbers (its scores download), by candidate id: p(real) (the last column), and the uncertainty where it measured it. */
async function pageScores(p: Page): Promise<{ where: string; byId: Map<string, number>; tta: Map<string, number> | null; bald: Map<string, number> | null }> {
  const json = await p.$eval('#scores-json', (a) => fetch((a as HTMLAnchorElement).href).then((r) => r.text()));
  const s = JSON.parse(json) as { where: string; width: number; ids: string[]; probs: number[]; tta: number[] | null; bald: number[] | null };
  const byId = (values: number[] | null) => values && new Map(s.ids.map((id, i) => [id, values[i]]));
  return { where: s.where, byId: byId(s.ids.map((_, i) => s.probs[i * s.width + s.width - 1]))!, tta: byId(s.tta), bald: byId(s.bald) };
}

/** The largest difference between two tables by id, and where. */
function largestDifference(page: Map<string, number>, node: Map<string, number>): { diff: number; at: string } {
  let worst = { diff: 0, at: '' };
  for (const [id, v] of node) {
    const diff = Math.abs(page.get(id)! - v);
    if (!(diff <= worst.diff)) worst = { diff, at: `candidate ${id}: page ${page.get(id)}, Node ${v}` };
  }
  return worst;
}

/** The candidate on screen is labelled with the key (or the button) of its true class. */
async function labelCurrent(by: 'key' | 'mouse' = 'key'): Promise<string> {
  const id = await text('#candidate-id');
  const original = survey.labels[survey.ids.indexOf(id)];
  const label = labelOf(original, 'binary') === 1 ? 'real' : 'bogus';
  if (by === 'key') await page.keyboard.press(label === 'real' ? 'r' : 'b');
  else await page.click(`#label-buttons button[data-label="${label}"]`);
  given.set(id, label);
  // The next candidate is on screen before the next key.
  await page.waitForFunction((previous) => document.getElementById('candidate-id')?.textContent !== previous, {}, id);
  return id;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'handscan-scan-page-'));
  Object.assign(files, { survey: join(tmp, 'survey.hdf5'), weights: join(tmp, 'tiny.h5'), labels: join(tmp, 'survey.labels.jsonl'), predicted: join(tmp, 'predicted.csv'), explained: join(tmp, 'explained') });
  survey = simulateSurvey({ seed: TEST_SEED, counts: COUNTS, difficulty: DEFAULT_DIFFICULTY });
  await writeSdssHdf5(files.survey, survey);
  await writeCheckpoint(files.weights);
  await buildWeb();

  // Node, as a user scores and explains: the real `predict` and `explain` commands.
  const data = ['--data', files.survey, '--weights', files.weights];
  const [predicted, explained] = await Promise.all([
    handscan(['predict', ...data, '--out', files.predicted, '--tta', ...MC]),
    handscan(['explain', ...data, '--out', files.explained, '--method', 'saliency', '--first', String(survey.ids.length)]),
  ]);
  if (predicted.code !== 0) throw new Error(`predict failed: ${predicted.stderr}`);
  if (explained.code !== 0) throw new Error(`explain failed: ${explained.stderr}`);
  for (const [table, column] of [[nodeScores, 'p_real'], [nodeTta, 'tta_std'], [nodeBald, 'bald']] as const) for (const [id, v] of csvColumn(files.predicted, column)) table.set(id, v);
  const index = JSON.parse(readFileSync(join(files.explained, 'index.json'), 'utf8')) as { explained: { id: string; mapMax: number }[] };
  for (const e of index.explained) nodeSaliency.set(e.id, e.mapMax);

  url = await startServer();
  browser = await launchChromium();
  page = await openPage();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await killServer();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe(`the scanning page (TEST_SEED=${TEST_SEED})`, () => {
  it('scores every candidate in the page as predict does, within 1e-5, and its uncertainty within 1e-4, and says on which adapter and how fast', async () => {
    const scores = await pageScores(page);
    expect(scores.where).toBe('page');
    expect(await text('#adapter')).not.toBe('');
    expect(await text('#scored-by')).toMatch(/Scored in this page with WebGPU: 64 cutouts in [\d.]+ s, [\d.]+ per second/);
    expect(scores.byId.size).toBe(nodeScores.size);
    const worst = largestDifference(scores.byId, nodeScores);
    console.log(`scan page: ${await text('#scored-by')} on ${await text('#adapter')}; largest difference from predict ${worst.diff.toExponential(2)}`);
    expect(worst.diff, worst.at).toBeLessThan(SAME_SCORES);
    // The spread over flips and rotations, and BALD over MC-dropout passes (the network has dropout): predict's columns.
    const tta = largestDifference(scores.tta!, nodeTta);
    const bald = largestDifference(scores.bald!, nodeBald);
    console.log(`largest differences from predict --tta ${MC.join(' ')}: spread ${tta.diff.toExponential(2)}, BALD ${bald.diff.toExponential(2)}`);
    expect(tta.diff, `TTA spread, ${tta.at}`).toBeLessThan(SAME_FIGURES);
    expect(bald.diff, `BALD, ${bald.at}`).toBeLessThan(SAME_FIGURES);
    expect(await text('#uncertainty')).toMatch(/^\d\.\d{4} \(spread over flips and rotations\); BALD \d\.\d{4}$/);
  });

  it('labels 30 candidates by keyboard, through a SIGKILL of the server, a closed tab and a restart, and loses none', async () => {
    // Scan in id order from the first.
    await page.select('#order', 'id');
    expect(await text('#counter')).toBe('1 of 64');
    for (let k = 0; k < 5; k++) await labelCurrent();
    // Back one, a wrong label, and undo: the earlier label goes back to the server.
    await page.keyboard.press('ArrowLeft');
    const fixed = await text('#candidate-id');
    await page.keyboard.press('u');
    await page.keyboard.press('z');
    await page.waitForFunction((id) => document.getElementById('candidate-id')?.textContent === id, {}, fixed);
    expect(await text('#label')).toBe(given.get(fixed));
    await page.keyboard.press('ArrowRight');
    while (given.size < KILL_AFTER) await labelCurrent();

    await page.waitForSelector('#queue[data-state="idle"]');
    await killServer();
    const whileDown: string[] = [];
    for (let k = 0; k < 5; k++) whileDown.push(await labelCurrent());
    // The page says they wait, and does not call them saved.
    await page.waitForSelector('#queue[data-state="error"]');
    expect(await text('#queue')).toMatch(/labels? waiting for the server/);
    await page.keyboard.press('ArrowLeft');
    expect(await page.$eval('#label', (e) => (e as HTMLElement).dataset.saved)).toBe('false');

    // The scanner gives up and closes the tab; the server comes back, and a new tab sends what the closed one left queued.
    await page.close();
    url = await startServer();
    page = await openPage();
    await page.waitForSelector('#queue[data-state="idle"]', { timeout: 60_000 });
    for (const id of whileDown) expect(readScanLabels(files.labels).latest.get(id)?.label).toBe(given.get(id));
    // And on through the candidates still unlabelled, in id order.
    await page.select('#order', 'id');
    await page.click('#unlabelled');
    while (given.size < LABELLED - 1) await labelCurrent();
    await labelCurrent('mouse');
    await page.click('#unlabelled');
    await page.waitForSelector('#queue[data-state="idle"]', { timeout: 60_000 });
    expect(await text('#queue')).toBe('every label saved');

    const file = readScanLabels(files.labels);
    const latest = new Map([...file.latest].map(([id, l]) => [id, l.label]));
    expect(latest).toEqual(given);
    // Every line is one key press of this page: the 30 labels, the wrong one and its undo, no retry written twice.
    expect(file.lines).toBe(LABELLED + 2);
    for (const id of whileDown) expect(file.latest.get(id)?.score).toBeCloseTo(nodeScores.get(id)!, 4);
  });

  it('shows every label after a reload, in the grid', async () => {
    await page.reload();
    await waitReady();
    expect(await text('#queue')).toBe('every label saved');
    await page.select('#order', 'id');
    await page.keyboard.press('g');
    await page.waitForSelector('#grid .tile');
    const tiles = await page.$$eval('#grid .tile', (ts) => ts.map((t) => ({ ...(t as HTMLElement).dataset })));
    expect(tiles.length).toBe(64);
    const shown = new Map(tiles.filter((t) => t.label).map((t) => [survey.ids[Number(t.index)], t.label]));
    expect(shown).toEqual(given);
    expect(tiles.filter((t) => t.label).every((t) => t.saved === 'true')).toBe(true);
    mkdirSync(DOCS, { recursive: true });
    await (await page.$('#grid-view'))!.screenshot({ path: join(DOCS, 'scan-grid.png') });
    await page.keyboard.press('g');
  });

  it('orders by score, keeps to a score band or to the unlabelled, and cycles the stretch', async () => {
    const { byId } = await pageScores(page);
    const scores = [...byId.values()];
    await page.select('#order', 'score-desc');
    expect(await text('#counter')).toBe('1 of 64');
    expect(Number(await text('#score'))).toBeCloseTo(Math.max(...scores), 4);
    await page.$eval('#band-min', (e) => {
      (e as HTMLInputElement).value = '0.4';
      e.dispatchEvent(new Event('change'));
    });
    await page.$eval('#band-max', (e) => {
      (e as HTMLInputElement).value = '0.6';
      e.dispatchEvent(new Event('change'));
    });
    expect(await text('#counter')).toBe(`1 of ${scores.filter((p) => p >= 0.4 && p <= 0.6).length}`);
    await page.click('#unlabelled');
    const unlabelled = [...byId].filter(([id, p]) => !given.has(id) && p >= 0.4 && p <= 0.6).length;
    expect(await text('#counter')).toBe(`1 of ${unlabelled}`);
    for (const [id, value] of [['#band-min', '0'], ['#band-max', '1']]) {
      await page.$eval(id, (e, v) => {
        (e as HTMLInputElement).value = v;
        e.dispatchEvent(new Event('change'));
      }, value);
    }
    await page.click('#unlabelled');
    expect(await text('#counter')).toBe('1 of 64');
    const stretch = await page.$eval('#stretch', (e) => (e as HTMLSelectElement).value);
    await page.keyboard.press('t');
    expect(await page.$eval('#stretch', (e) => (e as HTMLSelectElement).value)).not.toBe(stretch);
    await page.select('#order', 'id');
  });

  it('shows one candidate large, with its saliency overlay', async () => {
    await page.keyboard.press('s');
    await page.waitForSelector('#cutout[data-saliency="on"]', { timeout: 60_000 });
    // The map is explain's: its peak, relative to explain's.
    const id = await text('#candidate-id');
    const peak = Number(await page.$eval('#cutout', (e) => (e as HTMLElement).dataset.saliencyPeak));
    expect(Math.abs(peak - nodeSaliency.get(id)!) / nodeSaliency.get(id)!, `saliency peak of ${id}: page ${peak}, explain ${nodeSaliency.get(id)}`).toBeLessThan(SAME_FIGURES);
    expect(await page.$eval('#cutout canvas', (c) => getComputedStyle(c).imageRendering)).toBe('pixelated');
    await (await page.$('#single'))!.screenshot({ path: join(DOCS, 'scan-candidate.png') });
    await page.keyboard.press('?');
    expect(await page.$eval('#help', (e) => (e as HTMLElement).hidden)).toBe(false);
    expect(await text('#help-keys')).toContain('label real');
    await page.keyboard.press('Escape');
  });

  it('draws figures on the labelled candidates that agree with evaluate on the same labels', async () => {
    // `evaluate` on exactly the labelled candidates, whose classes in the file are the labels given.
    const members = survey.ids.map((id, i) => [id, i] as const).filter(([id]) => given.has(id)).map(([, i]) => i);
    const subset: Dataset = { ...survey, images: Uint8Array.from(members.flatMap((i) => Array.from(survey.images.subarray(i * 69 * 69 * 3, (i + 1) * 69 * 69 * 3)))), labels: Uint8Array.from(members, (i) => survey.labels[i]), ids: members.map((i) => survey.ids[i]) };
    const subsetPath = join(tmp, 'labelled.hdf5');
    await writeSdssHdf5(subsetPath, subset);
    const out = join(tmp, 'evaluation');
    const evaluated = await handscan(['evaluate', '--weights', files.weights, '--data', subsetPath, '--out', out]);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { test: { binary: { auc: number; precision: number; recall: number; fpr: number; calibration: { ece: number } } } };
    const b = report.test.binary;

    const figures = () => page.$eval('#figures-text', (e) => Object.fromEntries(Object.entries((e as HTMLElement).dataset).map(([k, v]) => [k, Number(v)])));
    const at = await figures();
    expect(at.count).toBe(LABELLED);
    for (const key of ['auc', 'precision', 'recall', 'fpr'] as const) expect(Math.abs(at[key] - b[key]), key).toBeLessThan(SAME_FIGURES);
    expect(Math.abs(at.ece - b.calibration.ece), 'ECE').toBeLessThan(SAME_FIGURES);

    // The slider redraws them at another threshold.
    await page.$eval('#threshold', (e) => {
      (e as HTMLInputElement).value = '0.35';
      e.dispatchEvent(new Event('input'));
    });
    const ids = [...given.keys()];
    const expected = binaryMetrics(ids.map((id) => nodeScores.get(id)!), ids.map((id) => Number(given.get(id) === 'real')), 0.35);
    const moved = await figures();
    for (const key of ['precision', 'recall', 'fpr'] as const) expect(Math.abs(moved[key] - expected[key]), `${key} at 0.35`).toBeLessThan(SAME_FIGURES);
    expect(await page.$$eval('#plots svg', (s) => s.length)).toBe(3);
    await (await page.$('#figures'))!.screenshot({ path: join(DOCS, 'scan-figures.png') });
  });

  it('says plainly that the server scored when the browser has no WebGPU', async () => {
    const plain = await browser!.newPage();
    plain.on('pageerror', (e) => pageErrors.push((e as Error).message));
    await plain.evaluateOnNewDocument(() => {
      delete (Navigator.prototype as { gpu?: unknown }).gpu;
    });
    await plain.goto(url);
    await waitReady(plain);
    expect(await plain.$eval('#scored-by', (e) => (e as HTMLElement).dataset.where)).toBe('server');
    expect(await text('#scored-by', plain)).toMatch(/^This browser has no WebGPU adapter .*, so the server scored these candidates on its own GPU/);
    const scores = await pageScores(plain);
    for (const [id, p] of nodeScores) expect(Math.abs(scores.byId.get(id)! - p)).toBeLessThan(SAME_SCORES);
    await plain.close();
  });

  it('retrains on the labels from the page, then scores with the new checkpoint as predict does', async () => {
    await page.type('#retrain-epochs', '1');
    await page.click('#retrain-start');
    await page.waitForFunction(() => /^(done|failed):/.test(document.getElementById('retrain-state')?.textContent ?? ''), { timeout: 300_000 });
    const outcome = await text('#retrain-state');
    expect(outcome, await text('#retrain-log')).toMatch(/^done: \S+, model v2; \d+ moved above and \d+ below the threshold 0\.35$/);
    expect(await text('#retrain-log')).toContain(`train --init-weights ${files.weights} --labels ${files.labels}`);
    await waitReady();
    const retrained = join(tmp, /^done: (\S+),/.exec(outcome)![1], 'best.h5');
    const csv = join(tmp, 'retrained.csv');
    const predicted = await handscan(['predict', '--data', files.survey, '--weights', retrained, '--out', csv]);
    expect(predicted.code, predicted.stderr).toBe(0);
    const scores = await pageScores(page);
    const worst = largestDifference(scores.byId, csvColumn(csv, 'p_real'));
    expect(worst.diff, worst.at).toBeLessThan(SAME_SCORES);
    expect(largestDifference(scores.byId, nodeScores).diff, 'the retrained model scores differently').toBeGreaterThan(SAME_SCORES);
    expect(pageErrors).toEqual([]);
  });
});
