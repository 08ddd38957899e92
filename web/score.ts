// Scores every cutout of a survey with a checkpoint on the page's WebGPU
// engine: the same readers, model and inference loop (predictAll, in batches
// the engine allows) as `handscan predict`, so the numbers are Node's.
import { describeShape, inferenceSource } from '../src/data/dataset.ts';
import { ORIGINAL_CLASSES, outputClasses } from '../src/data/labels.ts';
import type { PreprocessStepName } from '../src/data/preprocess.ts';
import { readSdssFile } from '../src/data/sdss-hdf5.ts';
import { readKerasCheckpoint } from '../src/io/keras-hdf5-layout.ts';
import type { Engine, GpuTensor } from '../src/kernels/engine.ts';
import { gpuBackend } from '../src/kernels/gpu-backend.ts';
import { buildCheckpointModel, checkpointModel } from '../src/nn/checkpoint-model.ts';
import { modelSpec } from '../src/nn/models.ts';
import type { Sequential } from '../src/nn/sequential.ts';
import { predictAll } from '../src/train/fit.ts';
import { named, withHdf5 } from './hdf5-browser.ts';

export interface PickedFile {
  name: string;
  bytes: Uint8Array;
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

export async function scoreSurvey(g: Engine, checkpoint: PickedFile, survey: PickedFile, onProgress: (done: number, total: number) => void): Promise<Scores> {
  const { ckpt, preprocess } = await withHdf5(checkpoint.bytes, checkpoint.name, (h5, file) => {
    const read = readKerasCheckpoint(h5, file);
    return { ckpt: checkpointModel(read), preprocess: read.extra?.preprocess as PreprocessStepName | undefined };
  });
  // As `predict` without --preprocess: the checkpoint's own step, else scale255.
  const dataset = await withHdf5(survey.bytes, survey.name, (h5, file) => readSdssFile(h5, file, survey.name, { preprocess }));
  // As `predict --model initial`: the file's model_config, else the paper's initial network.
  let model: Sequential<GpuTensor>;
  let outputs: ReturnType<typeof outputClasses>;
  try {
    model = buildCheckpointModel(ckpt, gpuBackend(g), (classes) => modelSpec('initial', classes, [...dataset.shape]));
    outputs = outputClasses(model.classes);
  } catch (e) {
    throw named(checkpoint.name, e);
  }
  if (model.spec.inputShape.join('×') !== describeShape(dataset.shape)) {
    throw new Error(`${checkpoint.name}: the model takes ${model.spec.inputShape.join('×')} inputs, the survey's cutouts are ${describeShape(dataset.shape)}`);
  }
  const t0 = performance.now();
  const source = inferenceSource(dataset, model.classes);
  const probs = await predictAll(model, source, { onProgress: (done) => onProgress(done, source.count) });
  const truth = Array.from(dataset.labels, (k) => (dataset.scheme === 'unlabelled' ? '' : ORIGINAL_CLASSES[k]));
  return { classes: outputs.classes, columns: outputs.outputs, ids: dataset.ids, truth, probs, seconds: (performance.now() - t0) / 1000 };
}
