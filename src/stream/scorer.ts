// The GPU side of a scorer: an engine, the checkpoint's model on it, and
// recovery from device errors. A device error leaves an engine unusable
// (src/kernels/engine.ts), so the scorer destroys it, opens a new one, builds
// the model again and reruns the batch; the batch's entries are acknowledged
// only once it has scores. Device errors on several engines in a row mean
// the device itself is gone: the last one is thrown, and the entries stay
// pending for another scorer.
import { inferenceSource, type Dataset, type SampleShape } from '../data/dataset.ts';
import { DeviceError, type Engine, type GpuTensor } from '../kernels/engine.ts';
import { gpuBackend } from '../kernels/gpu-backend.ts';
import type { Model } from '../nn/model.ts';
import { openEngine } from '../platform/node/engine.ts';
import { predictAll } from '../train/fit.ts';
import { calibrated, imageInputShape, scoringModel, type Scoring } from '../train/scoring.ts';
import { errorText, type Log } from './log.ts';

/** Engines opened in a row for one batch before giving up. */
const ENGINES_PER_BATCH = 3;

export class Scorer {
  private net: Model<GpuTensor> | null = null;
  /** Device errors survived so far. */
  deviceErrors = 0;
  /** The network's input: its architecture's, or the first samples' (inputShape). */
  private shape: SampleShape | null;

  private constructor(
    private engine: Engine,
    private readonly scoring: Scoring,
    private readonly batch: number,
    private readonly log: Log,
  ) {
    const { spec, graph } = scoring.checkpoint;
    this.shape = (spec?.inputShape ?? (graph && imageInputShape(scoring.weights, graph))) as SampleShape | null;
    if (this.shape !== null) this.model();
  }

  /**
   * Opens an engine for batches of up to `batch` alerts. A checkpoint with
   * its architecture is built, checked and run once now, so that compiling
   * the kernels does not fall on the first alerts' latency.
   */
  static async open(scoring: Scoring, batch: number, log: Log): Promise<Scorer> {
    const engine = await openEngine({ inferenceBatch: batch });
    try {
      const scorer = new Scorer(engine, scoring, batch, log);
      if (scorer.shape !== null) await scorer.score(blank(scorer.shape));
      return scorer;
    } catch (e) {
      engine.destroy();
      throw e;
    }
  }

  get adapter(): string {
    return this.engine.info.name;
  }

  /**
   * The input the network takes: its architecture's, or, for a weights-only
   * file (--model), the shape of the first samples it is asked about.
   */
  inputShape(first: SampleShape): SampleShape {
    return (this.shape ??= first);
  }

  /** The model on the current engine, built on first use. */
  private model(): Model<GpuTensor> {
    this.net ??= scoringModel(this.scoring, gpuBackend(this.engine), this.shape!);
    return this.net;
  }

  /** Probabilities of every sample (N × classes), on a new engine after a device error. */
  async score(samples: Dataset): Promise<Float32Array> {
    for (let attempt = 1; ; attempt++) {
      this.inputShape(samples.shape);
      const net = this.model();
      try {
        // As predict: calibrated where the checkpoint stores a temperature.
        return calibrated(await predictAll(net, inferenceSource(samples, net.classes)), net.classes, this.scoring.checkpoint);
      } catch (e) {
        if (!(e instanceof DeviceError)) throw e;
        this.deviceErrors++;
        this.log('error', 'device_error', { error: errorText(e), engine: attempt, of: ENGINES_PER_BATCH });
        this.engine.destroy();
        this.net = null;
        if (attempt === ENGINES_PER_BATCH) throw e;
        this.engine = await openEngine({ inferenceBatch: this.batch });
        this.log('info', 'device_reopened', { adapter: this.engine.info.name });
      }
    }
  }

  destroy(): void {
    this.engine.destroy();
  }
}

/** One all-zero sample: a batch to compile the kernels on. */
function blank(shape: SampleShape): Dataset {
  return { shape, images: new Float32Array(shape[0] * shape[1] * shape[2]), preprocess: 'none', labels: new Uint8Array(1), scheme: 'unlabelled', ids: ['warm-up'], source: 'warm-up' };
}
