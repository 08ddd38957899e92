// The engine in a real browser: headless Chromium on its own WebGPU (Dawn on
// SwiftShader here, a second implementation beside Node's Dawn on lavapipe),
// serving web/ from 127.0.0.1 (navigator.gpu needs a secure context). In the
// page, every kernel forward and backward against its CPU reference; then the
// scanning page, driven as a user drives it, scores a simulated survey with a
// checkpoint, and its probabilities must equal Node's.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb, ROOT } from '../scripts/build-web.ts';
import { serveStatic, type StaticServer } from '../scripts/serve-web.ts';
import { inferenceSource, sampleCount } from '../src/data/dataset.ts';
import { writeSdssHdf5 } from '../src/data/hdf5.ts';
import { ORIGINAL_CLASSES } from '../src/data/labels.ts';
import { loadDataset } from '../src/data/load.ts';
import { DEFAULT_DIFFICULTY, simulateSurvey } from '../src/data/simulator/survey.ts';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { gpuBackend } from '../src/kernels/gpu-backend.ts';
import { modelSpec } from '../src/nn/models.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { openEngine } from '../src/platform/node/engine.ts';
import { loadCheckpoint, modelFromCheckpoint, saveCheckpoint } from '../src/train/checkpoint.ts';
import { predictAll } from '../src/train/fit.ts';
import type { KernelReport } from '../web/kernel-checks.ts';
import { launchChromium } from './support/browser.ts';
import { TEST_SEED } from './support/random.ts';
import { GPU_VS_CPU } from './support/tolerances.ts';

/** The page's probabilities against Node's `predict`, absolute. */
const SAME_SCORES = 1e-5;
/** A small inference batch, so that the page's 40 cutouts take three batches, the last one ragged. */
const PAGE_BATCH = 16;

/** The Backend members that move data rather than compute: every other one is a kernel the page must check. */
const NOT_KERNELS = new Set(['name', 'fromArray', 'write', 'empty', 'toArray', 'readRange', 'copy', 'reshape', 'dispose', 'flush', 'sync', 'inferenceBatch']);

let server: StaticServer | undefined;
let browser: Browser | undefined;
let page: Page;
let tmp: string | undefined;
const pageErrors: string[] = [];

beforeAll(async () => {
  await buildWeb();
  server = await serveStatic(join(ROOT, 'web'));
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push((e as Error).message));
  await page.goto(`${server.url}index.html?batch=${PAGE_BATCH}`);
  const opened = await waitForStatus();
  if (opened.state !== 'ready') throw new Error(`the page opened no WebGPU engine: ${opened.text}`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Waits until the page is no longer busy; its status line is the outcome. */
async function waitForStatus(): Promise<{ state: string; text: string }> {
  await page.waitForSelector('#status:not([data-state="busy"])', { timeout: 120_000 });
  return page.$eval('#status', (e) => ({ state: (e as HTMLElement).dataset.state ?? '', text: e.textContent ?? '' }));
}

describe(`in headless Chromium (TEST_SEED=${TEST_SEED})`, () => {
  it('every kernel forward and backward matches the CPU reference within 1e-4, on the browser\'s adapter', async () => {
    // A string, not a function: vitest rewrites a test file's import() calls, which the page could not run.
    const report = (await page.evaluate(`import('/dist/kernel-checks.js').then((checks) => checks.runKernelChecks(${TEST_SEED}))`)) as KernelReport;
    const { name, vendor, architecture, subgroups } = report.adapter;
    const where = `${name} (${vendor}, ${architecture}), subgroup sizes ${subgroups ? `${subgroups.min}-${subgroups.max}` : 'none'}, GEMM paths ${report.paths.join(' and ')}`;
    console.log(`browser WebGPU adapter: ${where}; ${report.results.length} kernel outputs checked`);
    expect(name, 'the adapter has a name').not.toBe('');
    // The subgroup GEMMs run on one fixed subgroup size of 4 lanes or more (SwiftShader's is 4, lavapipe's 8):
    // there they must be checked too, every GEMM kernel on both paths.
    const fixed = subgroups !== null && subgroups.min === subgroups.max && subgroups.min >= 4;
    expect(report.paths, `GEMM paths on ${where}`).toEqual(fixed ? ['portable', 'subgroups'] : ['portable']);
    const gemms = [...new Set(report.results.filter((r) => r.path !== '-').map((r) => r.kernel))];
    expect(gemms.sort(), 'the kernels with a GEMM path').toEqual(['conv2dBackwardFilter', 'conv2dBackwardInput', 'conv2dForward', 'denseBackwardInput', 'denseBackwardWeights', 'denseForward']);
    const unchecked = gemms.flatMap((k) => report.paths.filter((path) => !report.results.some((r) => r.kernel === k && r.path === path)).map((path) => `${k} (${path})`));
    expect(unchecked, `GEMM kernels the page did not check on a path, on ${where}`).toEqual([]);

    const kernels = Object.keys(cpuBackend).filter((k) => !NOT_KERNELS.has(k));
    expect(kernels.filter((k) => !report.results.some((r) => r.kernel === k)), `kernels the page did not check on ${where}`).toEqual([]);
    const failures = report.results
      .filter((r) => !(r.error < GPU_VS_CPU) || r.nonFinite > 0)
      .map((r) => `${r.kernel} ${r.output} ${r.shape} (${r.path}): error ${r.error}, ${r.nonFinite} non-finite`);
    expect(failures, `on ${where}, seed ${TEST_SEED}`).toEqual([]);
  });

  it('the scanning page scores a simulated survey as Node\'s predict does, within 1e-5', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'handscan-browser-'));
    const surveyPath = join(tmp, 'survey.hdf5');
    const checkpointPath = join(tmp, 'tuned.h5');
    // Four cutouts of each class; the tuned network, so that LeakyReLU and (inference-mode) dropout run too.
    await writeSdssHdf5(surveyPath, simulateSurvey({ seed: TEST_SEED, counts: new Array(10).fill(4), difficulty: DEFAULT_DIFFICULTY }));
    const tuned = Sequential.build(modelSpec('tuned'), cpuBackend, TEST_SEED);
    // Fresh weights put every probability near 0.5; a larger output layer spreads them over (0, 1).
    const weights = await tuned.getWeights();
    weights.at(-1)!.weights.forEach((w) => w.values.forEach((v, i) => (w.values[i] = 100 * v)));
    tuned.setWeights(weights);
    await saveCheckpoint(checkpointPath, tuned, { preprocess: 'scale255' });

    // Node, as `predict` scores: the checkpoint's model on Dawn, the same inference loop.
    const dataset = await loadDataset(surveyPath);
    const n = sampleCount(dataset);
    const g = await openEngine();
    let node: Float32Array;
    try {
      const net = modelFromCheckpoint(checkpointPath, await loadCheckpoint(checkpointPath), gpuBackend(g), (classes) => modelSpec('initial', classes));
      node = await predictAll(net, inferenceSource(dataset, net.classes));
    } finally {
      g.destroy();
    }

    // The page, as a user drives it: pick the two files, press the button, read the table.
    await (await page.$('input#checkpoint'))!.uploadFile(checkpointPath);
    await (await page.$('input#survey'))!.uploadFile(surveyPath);
    await page.click('#scan button[type="submit"]');
    const outcome = await waitForStatus();
    expect(outcome, `the page's status (page errors: ${pageErrors.join('; ') || 'none'})`).toMatchObject({ state: 'done' });
    console.log(`browser scoring: ${outcome.text}, on ${await page.$eval('#adapter', (e) => e.textContent)}`);
    const header = await page.$$eval('#scores tr th', (cells) => cells.map((c) => c.textContent));
    const rows = await page.$$eval('#scores tbody tr', (trs) => trs.map((tr) => Array.from((tr as HTMLTableRowElement).cells, (c) => c.textContent ?? '')));
    expect(header).toEqual(['id', 'class in file', 'p(not real)', 'p(real)', 'prediction']);
    expect(rows.length).toBe(n);

    // The table shows 6 significant digits (as predict's CSV): at most 5e-7 of rounding in the 1e-5.
    let worst = { diff: 0, at: '' };
    rows.forEach(([id, label, ...cells], i) => {
      expect([id, label]).toEqual([String(i), ORIGINAL_CLASSES[dataset.labels[i]]]);
      cells.slice(0, 2).forEach((text, c) => {
        const diff = Math.abs(Number(text) - node[i * 2 + c]);
        if (!(diff <= worst.diff)) worst = { diff, at: `cutout ${i} class ${c}: page ${text}, Node ${node[i * 2 + c]}` };
      });
    });
    console.log(`largest difference from Node's probabilities: ${worst.diff.toExponential(2)} (${worst.at})`);
    expect(worst.diff, `largest difference, at ${worst.at} (seed ${TEST_SEED})`).toBeLessThan(SAME_SCORES);
    expect(pageErrors).toEqual([]);
  });
});
