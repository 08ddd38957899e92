// Scores cutouts with a checkpoint on the page's WebGPU engine: the same
// readers, model and inference loop (predictAll, in batches the engine
// allows) as `handscan predict`, and the checkpoint's temperature applied as
// predict applies it, so the numbers are Node's. The index page scores a
// survey file it reads itself; the scanning page (web/scan/) scores the
// network inputs its server sends.
import { describeShape, inferenceSource, type SampleShape } from '../src/data/dataset.ts';
import { ORIGINAL_CLASSES, outputClasses } from '../src/data/labels.ts';
import type { PreprocessStepName } from '../src/data/preprocess.ts';
import { readSdssFile } from '../src/data/sdss-hdf5.ts';
import { readKerasCheckpoint } from '../src/io/keras-hdf5-layout.ts';
import type { Engine, GpuTensor } from '../src/kernels/engine.ts';
import { gpuBackend } from '../src/kernels/gpu-backend.ts';
import { buildCheckpointModel, checkpointModel, type CheckpointModel } from '../src/nn/checkpoint-model.ts';
import type { Model } from '../src/nn/model.ts';
import { modelSpec } from '../src/nn/models.ts';
import { applyTemperature } from '../src/train/calibration.ts';
import { predictAll, type BatchSource } from '../src/train/fit.ts';
import { named, withHdf5 } from './hdf5-browser.ts';

export interface PickedFile {
  name: string;
  bytes: Uint8Array;
}

/** A checkpoint file read in the page: its model part and what its /handscan state says about scoring. */
export interface PageCheckpoint {
  name: string;
  ckpt: CheckpointModel;
  /** The step the checkpoint records; undefined for a Keras file (predict then uses scale255). */
  preprocess: PreprocessStepName | undefined;
  /** The temperature `--calibrate temperature` stored, or null. */
  temperature: number | null;
}

export interface Scores {
  /** The classes the model tells apart, e.g. ['not real', 'real']. */
  classes: readonly string[];
  /** What each output column is the probability of: ['real'] for a one-unit sigmoid (braai). */
  columns: readonly string[];
  /** Each cutout's id: the file's `ids` entry, else its index (as in `predict`'s CSV). */
  ids: readonly string[];
  /** Each cutout's class in the survey file; '' for every cutout of a file without `classes`. */
  truth: string[];
  /** N × columns.length probabilities. */
  probs: Float32Array;
  seconds: number;
}

/** The adapter in one line: its name (and architecture), subgroup size and GEMM path. */
export function describeAdapter(g: Engine): string {
  const { name, architecture, subgroups } = g.info;
  const lanes = subgroups ? (subgroups.min === subgroups.max ? `${subgroups.min}` : `${subgroups.min}-${subgroups.max}`) : 'none';
  // Chromium names SwiftShader only in the architecture ('google', 'swiftshader').
  const arch = architecture && !name.includes(architecture) ? ` (${architecture})` : '';
  return `${name}${arch}; subgroup size ${lanes}; ${g.kernelPath} GEMM kernels`;
}

export function readPageCheckpoint(file: PickedFile): Promise<PageCheckpoint> {
  return withHdf5(file.bytes, file.name, (h5, opened) => {
    const read = readKerasCheckpoint(h5, opened);
    const temperature = read.extra?.temperature;
    return {
      name: file.name,
      ckpt: checkpointModel(read),
      preprocess: read.extra?.preprocess as PreprocessStepName | undefined,
      temperature: typeof temperature === 'number' ? temperature : null,
    };
  });
}

/** As `predict --model initial`: the file's model_config, else the paper's initial network at the data's shape; it must take inputs of `shape`. */
export function pageModel(g: Engine, checkpoint: PageCheckpoint, shape: SampleShape): Model<GpuTensor> {
  let model: Model<GpuTensor>;
  try {
    model = buildCheckpointModel(checkpoint.ckpt, gpuBackend(g), (classes) => modelSpec('initial', classes, [...shape]));
  } catch (e) {
    throw named(checkpoint.name, e);
  }
  if (model.inputShape.join('×') !== describeShape(shape)) {
    throw new Error(`${checkpoint.name}: the model takes ${model.inputShape.join('×')} inputs, the cutouts are ${describeShape(shape)}`);
  }
  return model;
}

/** Probabilities (rows of `width`) as predict reports them: divided through the checkpoint's temperature when it stores one. */
export function calibratedProbs(probs: Float32Array, width: number, checkpoint: PageCheckpoint): Float32Array {
  return checkpoint.temperature === null ? probs : applyTemperature(probs, width, checkpoint.temperature);
}

/** Every sample of `source` through the model, calibrated. */
export async function scoreSource(model: Model<GpuTensor>, checkpoint: PageCheckpoint, source: BatchSource, onProgress: (done: number) => void): Promise<Float32Array> {
  return calibratedProbs(await predictAll(model, source, { onProgress }), model.classes, checkpoint);
}

export async function scoreSurvey(g: Engine, file: PickedFile, survey: PickedFile, onProgress: (done: number, total: number) => void): Promise<Scores> {
  const checkpoint = await readPageCheckpoint(file);
  // As `predict` without --preprocess: the checkpoint's own step, else scale255.
  const dataset = await withHdf5(survey.bytes, survey.name, (h5, opened) => readSdssFile(h5, opened, survey.name, { preprocess: checkpoint.preprocess }));
  const model = pageModel(g, checkpoint, dataset.shape);
  const outputs = outputClasses(model.classes);
  const t0 = performance.now();
  const source = inferenceSource(dataset, model.classes);
  const probs = await scoreSource(model, checkpoint, source, (done) => onProgress(done, source.count));
  const truth = Array.from(dataset.labels, (k) => (dataset.scheme === 'unlabelled' ? '' : ORIGINAL_CLASSES[k]));
  return { classes: outputs.classes, columns: outputs.outputs, ids: dataset.ids, truth, probs, seconds: (performance.now() - t0) / 1000 };
}
