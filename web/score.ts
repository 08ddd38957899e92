// Scores every cutout of a survey with a checkpoint on the page's WebGPU
// engine: the same model and inference loop (predictAll, in batches the
// engine allows) as `handscan predict`, so the numbers are Node's.
import { classNames, ORIGINAL_CLASSES, type LabelScheme } from '../src/data/labels.ts';
import type { Engine } from '../src/kernels/engine.ts';
import { gpuBackend } from '../src/kernels/gpu-backend.ts';
import { modelSpec } from '../src/nn/models.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { predictAll } from '../src/train/fit.ts';
import { readCheckpoint, readSurvey, withHdf5 } from './hdf5-browser.ts';

export interface PickedFile {
  name: string;
  bytes: Uint8Array;
}

export interface Scores {
  /** The model's output classes, e.g. ['not real', 'real']. */
  columns: readonly string[];
  /** Each cutout's class in the survey file (its id is its index, as in `predict`'s CSV). */
  truth: string[];
  /** N × columns.length probabilities. */
  probs: Float32Array;
  seconds: number;
}

/** predict's label scheme for a model's output count. */
function schemeFor(outputs: number): LabelScheme {
  const scheme = ({ 2: 'binary', 3: 'visual', 10: 'original' } as const)[outputs];
  if (!scheme) throw new Error(`the model has ${outputs} outputs; Handscan's label schemes have 2, 3 or 10 classes`);
  return scheme;
}

export async function scoreSurvey(g: Engine, checkpoint: PickedFile, survey: PickedFile, onProgress: (done: number, total: number) => void): Promise<Scores> {
  const ckpt = await withHdf5(checkpoint.bytes, checkpoint.name, readCheckpoint);
  const { images, classes } = await withHdf5(survey.bytes, survey.name, readSurvey);
  // As `predict`: the file's model_config, else the paper's initial network with as many classes as its last layer.
  const outputs = ckpt.weights.at(-1)?.weights.find((w) => w.name === 'bias')?.shape[0];
  if (outputs === undefined) throw new Error(`${checkpoint.name}: no layer with weights`);
  const model = Sequential.build(ckpt.spec ?? modelSpec('initial', outputs), gpuBackend(g), 0);
  model.setWeights(ckpt.weights);
  const columns = classNames(schemeFor(model.classes));
  if (model.spec.inputShape.join('×') !== '69×69×3') throw new Error(`${checkpoint.name}: the model takes ${model.spec.inputShape.join('×')} inputs, the survey's cutouts are 69×69×3`);
  const pixels = 69 * 69 * 3;
  const n = classes.length;
  const t0 = performance.now();
  const probs = await predictAll(
    model,
    {
      count: n,
      classes: model.classes,
      labels: new Int32Array(n),
      // uint8 → [0, 1] as the notebook (and src/data/dataset.ts) scale pixels.
      fill: (indices, x) => {
        for (let i = 0; i < indices.length; i++) {
          const from = indices[i] * pixels;
          for (let p = 0; p < pixels; p++) x[i * pixels + p] = images[from + p] / 255;
        }
      },
    },
    { onProgress: (done) => onProgress(done, n) },
  );
  return { columns, truth: Array.from(classes, (k) => ORIGINAL_CLASSES[k]), probs, seconds: (performance.now() - t0) / 1000 };
}
