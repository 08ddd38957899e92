// What `predict` and `serve` share, so that a stream scores an alert exactly
// as predict scores its file: the checkpoint and the preprocessing it says
// (or --preprocess), the model built from it on a backend at the data's
// shape, and the names and digits of the probability fields.
import { describeShape, type Dataset, type SampleShape } from '../data/dataset.ts';
import { outputClasses } from '../data/labels.ts';
import type { PreprocessStepName } from '../data/preprocess.ts';
import type { Backend, Tensor } from '../kernels/backend.ts';
import type { Model } from '../nn/model.ts';
import type { GraphSpec } from '../nn/spec.ts';
import { InputError } from '../errors.ts';
import { applyTemperature } from './calibration.ts';
import { loadCheckpoint, modelFromCheckpoint, type LoadedCheckpoint } from './checkpoint.ts';
import { preprocessOption } from './config.ts';
import { resolveModel, type ModelChoice } from './model-choice.ts';

/** Significant digits that keep a float32 probability to its last bit's order (2^-24 ≈ 6e-8). */
export const FLOAT32_DIGITS = 7;

/** The alert fields written beside the scores, where the packets have them. */
export const ALERT_FIELDS = ['drb', 'drbversion'] as const;

/** Field names for a model's outputs (each written as p_<name>): a sigmoid's one unit is p_real. */
export function probabilityColumns(outputs: number): { labels: readonly string[]; names: readonly string[] } {
  const field = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '_');
  const { classes, outputs: probabilities } = outputClasses(outputs);
  return { labels: classes.map(field), names: probabilities.map(field) };
}

/** The command line's say on the model: checked before any file is read. */
export interface ScoringChoices {
  /** The architecture for a file without model_config (--model). */
  architecture: ModelChoice;
  /** --preprocess, or null for the checkpoint's own step. */
  preprocess: PreprocessStepName | null;
}

export function scoringChoices(command: string, values: { model?: string; preprocess?: string }): ScoringChoices {
  return {
    architecture: resolveModel(command, values.model),
    preprocess: values.preprocess === undefined ? null : preprocessOption(command, values.preprocess, 'scale255'),
  };
}

export interface Scoring extends ScoringChoices {
  weights: string;
  checkpoint: LoadedCheckpoint;
  /** The step applied: --preprocess, else the checkpoint's, else scale255 (a Keras file records none). */
  step: PreprocessStepName;
}

export async function loadScoring(weights: string, choices: ScoringChoices): Promise<Scoring> {
  const checkpoint = await loadCheckpoint(weights);
  return { ...choices, weights, checkpoint, step: choices.preprocess ?? checkpoint.preprocess ?? 'scale255' };
}

/** The checkpoint's model on `backend`; a file without model_config takes --model's network at `shape`. */
export function scoringModel<T extends Tensor>(s: Scoring, backend: Backend<T>, shape: SampleShape): Model<T> {
  return modelFromCheckpoint(s.weights, s.checkpoint, backend, (classes) => s.architecture.spec(classes, shape));
}

/**
 * The model's probabilities (rows of `width`) as predict and evaluate report
 * them: divided through the checkpoint's temperature when `--calibrate
 * temperature` stored one, else as they are.
 */
export function calibrated(probs: Float32Array, width: number, checkpoint: Pick<LoadedCheckpoint, 'temperature'>): Float32Array {
  return checkpoint.temperature === null ? probs : applyTemperature(probs, width, checkpoint.temperature);
}

/** The shape of the one input the commands feed a network, the cutouts: a graph of several inputs needs more than --data gives. */
export function imageInputShape(weights: string, graph: GraphSpec): readonly number[] {
  const inputs = graph.inputs;
  if (inputs.length !== 1) throw new InputError(`${weights}: the network takes ${inputs.length} inputs (${inputs.map((i) => `'${i.name}' ${i.shape.join('×')}`).join(', ')}); --data gives it one, the cutouts`);
  return inputs[0].shape;
}

/** The data must come out of their preprocessing at the network's input shape. */
export function checkInput(weights: string, shape: readonly number[], dataset: Dataset, preprocess: string): void {
  if (shape.join('×') === describeShape(dataset.shape)) return;
  throw new InputError(`${weights}: the network takes ${shape.join('×')} inputs, but ${dataset.source} gives ${describeShape(dataset.shape)} after preprocessing ${preprocess}`);
}
