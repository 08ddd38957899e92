// Where the page's numbers come from. With a WebGPU adapter, the page scores
// every candidate itself: the checkpoint's bytes from /api/weights, the
// network inputs from /api/inputs (exactly what `predict` feeds the model),
// the model and inference loop of web/score.ts, so the probabilities are
// Node's; it also measures each candidate's uncertainty (src/train/
// uncertainty.ts: the spread of p(real) over the eight flips and rotations,
// and BALD over MC-dropout passes for a network with dropout) and, on demand,
// its gradient saliency (src/train/explain.ts). Without an adapter, the
// server scores on its own engine (/api/scores) and the page says so.
import { inferenceSource, valuesPerSample, type Dataset } from '../../src/data/dataset.ts';
import type { Engine, GpuTensor } from '../../src/kernels/engine.ts';
import type { Model } from '../../src/nn/model.ts';
import { openEngine } from '../../src/platform/browser/engine.ts';
import { saliency } from '../../src/train/explain.ts';
import { copyStatistics, dihedralCopies, hasDropout, mcDropoutCopies } from '../../src/train/uncertainty.ts';
import { calibratedProbs, describeAdapter, pageModel, readPageCheckpoint, scoreSource, type PageCheckpoint } from '../score.ts';
import { api, type Session } from './api.ts';

/** Candidates per /api/inputs request. */
const CHUNK = 256;
/** MC-dropout passes per candidate, and their seed (so a reload shows the same numbers). */
const MC_PASSES = 16;
const MC_SEED = 1;

export interface Scored {
  /** N × width calibrated probabilities. */
  probs: Float32Array;
  width: number;
  version: number;
  where: 'page' | 'server';
  /** The adapter that scored, in one line. */
  adapter: string;
  seconds: number;
}

/** Every candidate's network inputs, N×H×W×C, fetched in chunks. */
export async function fetchInputs(session: Session, onProgress: (done: number) => void): Promise<Float32Array> {
  const values = valuesPerSample(session.shape);
  const all = new Float32Array(session.count * values);
  for (let from = 0; from < session.count; from += CHUNK) {
    const count = Math.min(CHUNK, session.count - from);
    const part = await api.inputs(from, count);
    if (part.length !== count * values) throw new Error(`/api/inputs gave ${part.length} values for ${count} candidates of ${session.shape.join('×')}`);
    all.set(part, from * values);
    onProgress(from + count);
  }
  return all;
}

/** The fetched inputs as a dataset already preprocessed (step 'none'), for the engine's loops. */
export function inputDataset(inputs: Float32Array, session: Session): Dataset {
  return { shape: session.shape, images: inputs, preprocess: 'none', labels: new Uint8Array(session.count), scheme: 'unlabelled', ids: session.ids, source: session.data };
}

/** The page's engine, or why there is none (then the server scores). */
export async function pageEngine(batch: number): Promise<Engine | string> {
  try {
    return await openEngine(batch > 0 ? { inferenceBatch: batch } : {});
  } catch (e) {
    return (e as Error).message;
  }
}

/** The current checkpoint's model on the page's engine. */
export interface PageNetwork {
  model: Model<GpuTensor>;
  checkpoint: PageCheckpoint;
  version: number;
}

export async function loadNetwork(g: Engine, session: Session): Promise<PageNetwork> {
  const { bytes, version } = await api.weights();
  const checkpoint = await readPageCheckpoint({ name: `weights v${version}`, bytes });
  return { model: pageModel(g, checkpoint, session.shape), checkpoint, version };
}

export async function scoreInPage(g: Engine, net: PageNetwork, data: Dataset, onProgress: (done: number) => void): Promise<Scored> {
  const t0 = performance.now();
  const probs = await scoreSource(net.model, net.checkpoint, inferenceSource(data, net.model.classes), onProgress);
  return { probs, width: net.model.classes, version: net.version, where: 'page', adapter: describeAdapter(g), seconds: (performance.now() - t0) / 1000 };
}

export async function scoreOnServer(session: Session): Promise<Scored> {
  const s = await api.scores();
  const width = s.probs.length / session.count;
  return { probs: Float32Array.from(s.probs), width, version: s.version, where: 'server', adapter: s.adapter, seconds: s.seconds };
}

export interface Uncertainty {
  /** Per candidate: the spread of the calibrated score over the dihedral copies. */
  tta: Float32Array;
  /** Per candidate: BALD over MC-dropout passes, for a network with dropout; else null. */
  bald: Float32Array | null;
}

export async function uncertaintyInPage(net: PageNetwork, data: Dataset): Promise<Uncertainty> {
  const calibrate = <C extends { probs: Float32Array; width: number }>(c: C): C => ({ ...c, probs: calibratedProbs(c.probs, c.width, net.checkpoint) });
  const tta = copyStatistics(calibrate(await dihedralCopies(net.model, data))).std;
  const bald = hasDropout(net.model) ? copyStatistics(calibrate(await mcDropoutCopies(net.model, data, MC_PASSES, MC_SEED))).bald : null;
  return { tta, bald };
}

/** One candidate's saliency map (H×W, the largest |d score / d pixel| over its channels). */
export async function saliencyInPage(net: PageNetwork, data: Dataset, index: number): Promise<Float32Array> {
  return (await saliency(net.model, data, { indices: Uint32Array.of(index) })).maps;
}
