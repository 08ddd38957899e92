// Checkpoints are Keras 2 HDF5 files (a model Keras can load), with
// Handscan's training state beside the weights in the /handscan group that
// Keras ignores: the optimizer's slots, the epochs done, the history and the
// best validation loss so far. Writes are atomic (src/io/keras-hdf5.ts).
import type { Backend, Tensor } from '../kernels/backend.ts';
import { readKerasWeights, writeKerasWeights } from '../io/keras-hdf5.ts';
import { isOnnxFile, readOnnxFile } from '../io/onnx-file.ts';
import { buildCheckpointModel, checkpointArchitecture, checkpointModel, type CheckpointModel } from '../nn/checkpoint-model.ts';
import { kerasArchitectureConfig, kerasLayers } from '../nn/keras-config.ts';
import type { Optimizer, OptimizerState } from '../nn/optimizers.ts';
import type { ModelSpec } from '../nn/spec.ts';
import { PREPROCESS_STEPS, type PreprocessStepName } from '../data/preprocess.ts';
import type { Model } from '../nn/model.ts';
import type { LayerWeights } from '../nn/sequential.ts';
import type { RunConfig } from './config.ts';
import { InputError } from '../errors.ts';
import type { EpochHistory } from './plots.ts';

/** Where a run stands after an epoch: what `--resume` needs to continue it exactly. */
export interface TrainingState {
  /** Epochs completed. */
  epoch: number;
  history: EpochHistory[];
  bestEpoch: number;
  bestValLoss: number;
  config: RunConfig;
  optimizer: OptimizerState;
}

/** The model (src/nn/checkpoint-model.ts) and, in a Handscan checkpoint written during training, the run's state. */
export interface LoadedCheckpoint extends CheckpointModel {
  state: TrainingState | null;
  /** The preprocessing the model was trained on (null in a Keras file or an older Handscan one). */
  preprocess: PreprocessStepName | null;
  /** The temperature `--calibrate temperature` fitted (src/train/calibration.ts), which predict and evaluate apply; null when none was. */
  temperature: number | null;
}

export interface SaveOptions<T extends Tensor> {
  /** The step that made the model's input: predict applies it by default. */
  preprocess: PreprocessStepName;
  /** A fitted temperature, stored for predict and evaluate to apply. */
  temperature?: number;
  /** With `state`: the run can be resumed from this file. */
  optimizer?: Optimizer<T>;
  state?: Omit<TrainingState, 'optimizer'>;
}

/** Saves the model's weights (with its preprocessing, and the training state when given) to `path`, atomically. */
export async function saveCheckpoint<T extends Tensor>(path: string, model: Model<T>, { preprocess, temperature, optimizer, state }: SaveOptions<T>): Promise<void> {
  const extra: Record<string, unknown> = { preprocess, ...(temperature === undefined ? {} : { temperature }) };
  if (optimizer && state) {
    const o = await optimizer.getState();
    extra.training = { ...state, optimizer: { name: o.name, iterations: o.iterations, lr: o.lr, slots: o.slots.length } };
    o.slots.forEach((s, i) => (extra[`optimizer/${i}`] = s));
  }
  await writeKerasWeights(path, {
    layers: kerasLayers(model.architecture, await model.getWeights()),
    modelConfig: kerasArchitectureConfig(model.architecture),
    extra,
  });
}

/** Reads a Handscan or Keras checkpoint, or an ONNX model (src/io/onnx-import.ts); any problem is one InputError line. */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  try {
    if (await isOnnxFile(path)) {
      const { graph, weights, preprocess } = await readOnnxFile(path);
      return { ...checkpointArchitecture(graph), weights, state: null, preprocess: knownStep(preprocess), temperature: null };
    }
    const ckpt = await readKerasWeights(path);
    const model = checkpointModel(ckpt);
    const training = ckpt.extra?.training as (Omit<TrainingState, 'optimizer'> & { optimizer: { name: OptimizerState['name']; iterations: number; lr?: number; slots: number } }) | undefined;
    let state: TrainingState | null = null;
    if (training) {
      const slots = Array.from({ length: training.optimizer.slots }, (_, i) => {
        const s = ckpt.extra?.[`optimizer/${i}`];
        if (!(s instanceof Float32Array)) throw new Error(`optimizer slot ${i} is missing`);
        return s;
      });
      // JSON has no Infinity: a run with no validation yet stored null.
      state = { ...training, bestValLoss: training.bestValLoss ?? Infinity, optimizer: { ...training.optimizer, slots } };
    }
    return { ...model, state, preprocess: knownStep(ckpt.extra?.preprocess ?? null), temperature: knownTemperature(ckpt.extra?.temperature ?? null) };
  } catch (e) {
    throw new InputError(`checkpoint ${(e as Error).message.startsWith(path) ? '' : `${path}: `}${(e as Error).message}`);
  }
}

/** The preprocessing step a file records: one Handscan knows, or none. */
function knownStep(preprocess: unknown): PreprocessStepName | null {
  if (preprocess !== null && !Object.hasOwn(PREPROCESS_STEPS, preprocess as string)) throw new Error(`records an unknown preprocessing step ${JSON.stringify(preprocess)}`);
  return preprocess as PreprocessStepName | null;
}

/** A stored temperature: a positive number, or none. */
function knownTemperature(t: unknown): number | null {
  if (t !== null && !(typeof t === 'number' && t > 0 && Number.isFinite(t))) throw new Error(`records a temperature ${JSON.stringify(t)}, not a positive number`);
  return t as number | null;
}

/** Loads weights into a model, as an InputError naming the file when they do not fit. */
export function applyWeights<T extends Tensor>(path: string, model: Model<T>, weights: LayerWeights[]): void {
  try {
    model.setWeights(weights);
  } catch (e) {
    throw new InputError(`checkpoint ${path}: ${(e as Error).message}`);
  }
}

/** A model on `backend` with a loaded checkpoint's weights (buildCheckpointModel), as an InputError naming the file when they do not fit. */
export function modelFromCheckpoint<T extends Tensor>(path: string, ckpt: LoadedCheckpoint, backend: Backend<T>, fallback: (classes: number) => ModelSpec): Model<T> {
  try {
    return buildCheckpointModel(ckpt, backend, fallback);
  } catch (e) {
    throw new InputError(`checkpoint ${path}: ${(e as Error).message}`);
  }
}
