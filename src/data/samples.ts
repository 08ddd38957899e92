// From a source's samples to a Dataset through a named preprocessing step,
// the same way for every reader (HDF5, cutout folders, alert packets).
// Applying the step to a sample: its channel planes (planesFromHwc for an
// H×W×C array) → the step → a float32 H×W×C StepImage. Every sample must come
// out the same shape. Raw 8-bit pixels under 'scale255' skip the step and
// stay uint8, scaled per batch (dataset.ts); if float samples join them, the
// 8-bit ones are scaled as the step would, fround(x / 255), so the dataset is
// one float32 array.
//
// Every error is a one-line InputError naming the sample (`where`): a step's
// refusal, or a shape unlike the first sample's. A failed add leaves the
// collector as it was, so a reader may skip the sample and go on.
// Platform-free.
import { InputError } from '../errors.ts';
import { checkDataset, describeShape, type AlertCandidate, type Dataset, type DatasetScheme, type SampleShape, type SkippedSample } from './dataset.ts';
import { planesFromHwc, PREPROCESS_STEPS, PreprocessError, preprocessStep, type Plane, type PreprocessStepName, type StepImage } from './preprocess.ts';

/** The steps a dataset may be preprocessed with: the network inputs, not the display stretches. */
export const NETWORK_STEPS: readonly PreprocessStepName[] = (Object.keys(PREPROCESS_STEPS) as PreprocessStepName[]).filter((name) => PREPROCESS_STEPS[name].kind === 'network');

export const DEFAULT_STEP: PreprocessStepName = 'scale255';

/** The network-input step called `name` ('scale255' when undefined), or a one-line PreprocessError listing them. */
export function inputStep(name: string | undefined): PreprocessStepName {
  if (name === undefined) return DEFAULT_STEP;
  const step = preprocessStep(name);
  if (step.kind !== 'network') {
    throw new PreprocessError(`'${name}' is a display stretch, for people; a dataset's preprocessing must be a network input: one of ${NETWORK_STEPS.join(', ')}`);
  }
  return step.name as PreprocessStepName;
}

const UNIT_SCALE = Float32Array.from({ length: 256 }, (_, v) => v / 255);

export interface CollectorOptions {
  /** The number of samples, when known (an HDF5 file): the images are then allocated once, at their final size. */
  capacity?: number;
}

export class SampleCollector {
  readonly preprocess: PreprocessStepName;
  private readonly apply: (planes: readonly Plane[]) => StepImage;
  private shape: SampleShape | undefined;
  private firstWhere = '';
  private values = 0;
  private buffer: Uint8Array | Float32Array = new Uint8Array(0);
  private count = 0;
  private readonly ids: string[] = [];
  private readonly labels: number[] = [];
  private readonly candidates: AlertCandidate[] = [];

  constructor(
    readonly source: string,
    preprocess: PreprocessStepName = DEFAULT_STEP,
    private readonly options: CollectorOptions = {},
  ) {
    this.preprocess = inputStep(preprocess);
    this.apply = PREPROCESS_STEPS[this.preprocess].apply;
  }

  get size(): number {
    return this.count;
  }

  /** Raw 8-bit H×W×C pixels (a PNG, a uint8 HDF5 row): kept as they are under 'scale255', else through the step. */
  addUint8(id: string, label: number, pixels: Uint8Array, shape: SampleShape, where: string, candidate?: AlertCandidate): void {
    if (this.preprocess === 'scale255') {
      this.checkShape(shape, where);
      this.push(id, label, pixels, shape, where, candidate);
    } else {
      this.addHwc(id, label, pixels, shape, where, candidate);
    }
  }

  /** An H×W×C array of any numbers (a float HDF5 row): its planes through the step. */
  addHwc(id: string, label: number, data: ArrayLike<number>, shape: SampleShape, where: string, candidate?: AlertCandidate): void {
    this.addPlanes(id, label, planesFromHwc(data, shape), where, candidate);
  }

  /** One plane per channel (FITS images, an alert's three cutouts): through the step. */
  addPlanes(id: string, label: number, planes: readonly Plane[], where: string, candidate?: AlertCandidate): void {
    let image: StepImage;
    try {
      image = this.apply(planes);
    } catch (e) {
      if (e instanceof InputError) throw new PreprocessError(`${where}: ${e.message}`);
      throw e;
    }
    this.checkShape(image.shape, where);
    this.push(id, label, image.data, image.shape, where, candidate);
  }

  private checkShape(shape: SampleShape, where: string): void {
    if (this.shape !== undefined && shape.join() !== this.shape.join()) {
      const after = this.preprocess === 'scale255' ? '' : ` after '${this.preprocess}'`;
      throw new InputError(`${where}: ${describeShape(shape)}${after}, but the first sample, ${this.firstWhere}, is ${describeShape(this.shape)}; every sample must have one shape`);
    }
  }

  private push(id: string, label: number, data: Uint8Array | Float32Array, shape: SampleShape, where: string, candidate?: AlertCandidate): void {
    if (this.shape === undefined) {
      this.shape = [shape[0], shape[1], shape[2]];
      this.firstWhere = where;
      this.values = shape[0] * shape[1] * shape[2];
    }
    if (data instanceof Float32Array && this.buffer instanceof Uint8Array) this.buffer = this.toFloat(this.buffer);
    this.reserve(this.count + 1);
    const at = this.count * this.values;
    if (this.buffer instanceof Float32Array && data instanceof Uint8Array) {
      for (let v = 0; v < this.values; v++) this.buffer[at + v] = UNIT_SCALE[data[v]];
    } else {
      this.buffer.set(data, at);
    }
    this.count++;
    this.ids.push(id);
    this.labels.push(label);
    if (candidate !== undefined) this.candidates.push(candidate);
  }

  private toFloat(raw: Uint8Array): Float32Array {
    const out = new Float32Array(raw.length);
    for (let v = 0; v < this.count * this.values; v++) out[v] = UNIT_SCALE[raw[v]];
    return out;
  }

  private reserve(samples: number): void {
    const needed = samples * this.values;
    if (needed <= this.buffer.length) return;
    const room = Math.max(needed, (this.options.capacity ?? 0) * this.values, 2 * this.buffer.length);
    const grown = this.buffer instanceof Uint8Array ? new Uint8Array(room) : new Float32Array(room);
    grown.set(this.buffer.subarray(0, this.count * this.values));
    this.buffer = grown;
  }

  /** The dataset of every sample added, in order; a one-line InputError if there is none. */
  finish(scheme: DatasetScheme, extra: { skipped?: readonly SkippedSample[]; emptyReason?: () => string } = {}): Dataset {
    if (this.shape === undefined) throw new InputError(`${this.source}: ${extra.emptyReason?.() ?? 'no samples'}`);
    const used = this.count * this.values;
    const images = this.buffer.length === used ? this.buffer : this.buffer.slice(0, used);
    return checkDataset({
      shape: this.shape,
      images,
      preprocess: this.preprocess,
      labels: scheme === 'unlabelled' ? new Uint8Array(this.count) : Uint8Array.from(this.labels),
      scheme,
      ids: this.ids,
      source: this.source,
      // Only when every sample came from an alert packet.
      ...(this.candidates.length === this.count ? { candidates: this.candidates } : {}),
      ...(extra.skipped !== undefined ? { skipped: extra.skipped } : {}),
    });
  }
}
