// What a scan server holds: the candidates, read and preprocessed as
// `predict` reads them, and the model it scores them with, which a retrain
// replaces (its version goes up by one each time). The network inputs and
// the probabilities it hands out are predict's own: fillImages of the
// dataset, and predictAll + calibrated on the Node WebGPU engine, opened the
// first time scores are asked for.
import type { ServerResponse } from 'node:http';
import { fillImages, inferenceSource, labelsFor, sampleCount, valuesPerSample, type Dataset } from '../data/dataset.ts';
import { loadDataset } from '../data/load.ts';
import { schemeForOutputs, type LabelScheme } from '../data/labels.ts';
import { choiceOfClass, scanChoices } from '../data/scan-choices.ts';
import { cpuBackend } from '../kernels/cpu-backend.ts';
import type { Engine } from '../kernels/engine.ts';
import { gpuBackend } from '../kernels/gpu-backend.ts';
import { openEngine } from '../platform/node/engine.ts';
import { InputError } from '../errors.ts';
import { predictAll } from '../train/fit.ts';
import { calibrated, checkInput, imageInputShape, loadScoring, probabilityColumns, scoringModel, type Scoring, type ScoringChoices } from '../train/scoring.ts';

/** The model the server scores with now. */
export interface ScanModel {
  version: number;
  /** The checkpoint's path. */
  weights: string;
  scoring: Scoring;
  /** Outputs: 1 for a sigmoid head. */
  classes: number;
}

export interface Scores {
  version: number;
  adapter: string;
  seconds: number;
  probs: Float32Array;
}

/** Most candidates one /api/inputs request may ask for (4096 cutouts of 69×69×3 are 234 MB). */
export const MOST_INPUTS = 4096;
/** Candidates per write of /api/inputs: the reply is streamed, never held whole. */
const INPUT_CHUNK = 64;

export class ScanSession {
  private engine: Promise<Engine> | null = null;
  /** One scoring at a time on the engine. */
  private gpu: Promise<unknown> = Promise.resolve();
  private scored: { version: number; scores: Promise<Scores> } | null = null;
  private readonly index = new Map<string, number>();

  private constructor(
    readonly data: string,
    readonly dataset: Dataset,
    readonly scheme: LabelScheme,
    readonly threshold: number,
    private readonly choices: ScoringChoices,
    public model: ScanModel,
  ) {
    dataset.ids.forEach((id, i) => this.index.has(id) || this.index.set(id, i));
  }

  /** Reads the checkpoint and the data as predict does; checks that they fit. */
  static async open(data: string, weights: string, choices: ScoringChoices, scheme: LabelScheme | null, threshold: number): Promise<ScanSession> {
    const scoring = await loadScoring(weights, choices);
    let skipped = 0;
    const dataset = await loadDataset(data, {
      preprocess: scoring.step,
      onSkipped: (id, reason) => {
        skipped++;
        console.error(`skipped packet ${id}: ${reason}`);
      },
    });
    if (skipped > 0) console.error(`skipped ${skipped} packet${skipped === 1 ? '' : 's'} with a missing or corrupt cutout (listed above)`);
    const model = checkedModel(1, weights, scoring, dataset);
    return new ScanSession(data, dataset, scheme ?? schemeForOutputs(model.classes === 1 ? 2 : model.classes), threshold, choices, model);
  }

  get count(): number {
    return sampleCount(this.dataset);
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  /** GET /api/session. */
  describe() {
    const { dataset, model, scheme } = this;
    const triplet = dataset.candidates !== undefined || model.scoring.step.startsWith('braai');
    const channels = dataset.shape[2];
    return {
      data: this.data,
      count: this.count,
      shape: dataset.shape,
      layout: triplet ? 'triplet' : 'composite',
      channels: triplet ? ['science', 'reference', 'difference'] : channels === 3 ? ['i', 'r', 'g'] : Array.from({ length: channels }, (_, c) => `channel ${c}`),
      ids: dataset.ids,
      truth: this.truth(),
      scheme,
      choices: scanChoices(scheme),
      threshold: this.threshold,
      model: {
        version: model.version,
        name: model.weights,
        preprocess: model.scoring.step,
        classes: model.classes,
        columns: probabilityColumns(model.classes).names.map((n) => `p_${n}`),
        temperature: model.scoring.checkpoint.temperature,
      },
    };
  }

  /** The dataset's own label of each candidate, as a choice of the session's scheme; null where it has none there. */
  private truth(): (string | null)[] {
    const { dataset, scheme } = this;
    if (dataset.scheme === 'unlabelled' || (dataset.scheme === 'binary' && scheme !== 'binary')) return dataset.ids.map(() => null);
    return Array.from(labelsFor(dataset, scheme), (c) => choiceOfClass(scheme, c));
  }

  /** GET /api/inputs: `count` network inputs from `from`, float32 little-endian, streamed in chunks. */
  async writeInputs(res: ServerResponse, from: number, count: number): Promise<void> {
    const values = valuesPerSample(this.dataset.shape);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': count * values * 4, 'cache-control': 'no-store', 'x-model-version': String(this.model.version) });
    for (let start = from; start < from + count; start += INPUT_CHUNK) {
      const n = Math.min(INPUT_CHUNK, from + count - start);
      const chunk = new Float32Array(n * values);
      fillImages(this.dataset, Array.from({ length: n }, (_, i) => start + i), chunk);
      if (!res.write(new Uint8Array(chunk.buffer))) await drainedOrClosed(res);
      if (res.destroyed) return;
    }
    res.end();
  }

  /** GET /api/scores: the current model's calibrated probabilities, as predict writes them, computed once per version. */
  scores(): Promise<Scores> {
    const { version } = this.model;
    if (this.scored?.version !== version) {
      const model = this.model;
      const scores = this.gpu.then(() => this.score(model));
      this.scored = { version, scores };
      // A failed run (no adapter, a lost device) is not kept: the next request tries again on a fresh engine.
      this.gpu = scores.catch(() => {
        if (this.scored?.scores === scores) this.scored = null;
        return this.dropEngine();
      });
    }
    return this.scored!.scores;
  }

  private async score(model: ScanModel): Promise<Scores> {
    this.engine ??= openEngine();
    const g = await this.engine;
    const net = scoringModel(model.scoring, gpuBackend(g), this.dataset.shape);
    const t0 = performance.now();
    const probs = calibrated(await predictAll(net, inferenceSource(this.dataset, net.classes)), net.classes, model.scoring.checkpoint);
    return { version: model.version, adapter: g.info.name, seconds: (performance.now() - t0) / 1000, probs };
  }

  /** Switches to a retrained checkpoint, which must take the same inputs: the model's version goes up by one. */
  async switchTo(weights: string): Promise<void> {
    const scoring = await loadScoring(weights, this.choices);
    if (scoring.step !== this.dataset.preprocess) {
      throw new InputError(`${weights}: preprocesses with ${scoring.step}, but the candidates were read with ${this.dataset.preprocess}`);
    }
    this.model = checkedModel(this.model.version + 1, weights, scoring, this.dataset);
  }

  private async dropEngine(): Promise<void> {
    const engine = this.engine;
    this.engine = null;
    (await engine?.catch(() => null))?.destroy();
  }

  /** Destroys the engine (a live device keeps the process from exiting), once scoring in progress has finished. */
  async close(): Promise<void> {
    await this.gpu;
    await this.dropEngine();
  }
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The checkpoint's model, checked on the CPU against the data as predict checks it on the GPU. */
function checkedModel(version: number, weights: string, scoring: Scoring, dataset: Dataset): ScanModel {
  const net = scoringModel(scoring, cpuBackend, dataset.shape);
  checkInput(weights, imageInputShape(weights, net.graph), dataset, scoring.step);
  return { version, weights, scoring, classes: net.classes };
}
