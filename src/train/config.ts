// A training run's configuration: the paper's protocol as a preset, a short
// preset for machines without a GPU, and the user's overrides on top.
import { classNames, isLabelScheme, LABEL_SCHEMES, type LabelScheme } from '../data/labels.ts';
import type { LossName } from '../kernels/backend.ts';
import type { PreprocessStepName } from '../data/preprocess.ts';
import { NETWORK_STEPS } from '../data/samples.ts';
import type { ModelName } from '../nn/models.ts';
import { ADAM_DEFAULTS, OPTIMIZER_NAMES, RMSPROP_DEFAULTS, type OptimizerName } from '../nn/optimizers.ts';
import { DEFAULT_LOSS } from '../nn/sequential.ts';
import { numberOption } from './command.ts';
import { UsageError } from '../errors.ts';
import { DEFAULT_RECALL_TARGET } from './metrics.ts';
import { resolveModel } from './model-choice.ts';
import { parseClassWeight, type ClassWeightOption } from './class-weight.ts';
import { LR_SCHEDULES, type LrScheduleName } from './lr-schedule.ts';

export type PresetName = 'paper' | 'quick';
export const PRESET_NAMES: readonly PresetName[] = ['paper', 'quick'];
export const LOSS_NAMES: readonly LossName[] = ['logits', 'keras2-clipped'];

/** A saved run's loss: one saved before --loss existed trained with Keras 2.2's clipped loss. */
export const savedLoss = (config: { loss?: LossName }): LossName => config.loss ?? 'keras2-clipped';

/** A --preprocess value, checked against the network steps. */
export function preprocessOption(command: string, value: string | undefined, fallback: PreprocessStepName): PreprocessStepName {
  if (value === undefined) return fallback;
  if (!(NETWORK_STEPS as string[]).includes(value)) throw new UsageError(`${command}: --preprocess must be one of ${NETWORK_STEPS.join(', ')} (\`handscan preprocess --list\` describes them), got '${value}'`);
  return value as PreprocessStepName;
}

export interface RunConfig {
  /** A built-in model's name, or a Keras architecture JSON file (src/train/model-choice.ts). */
  model: string;
  /** The step that turns the data's pixels into the network's input (src/data/preprocess.ts). */
  preprocess: PreprocessStepName;
  labels: LabelScheme;
  optimizer: OptimizerName;
  lr: number;
  /**
   * The cross-entropy: from the logits (tf.keras's), or Keras 2.2's clipped one
   * for exact reproduction. A run saved before the option trained with the latter.
   */
  loss: LossName;
  batchSize: number;
  epochs: number;
  /**
   * Training samples per epoch: the whole training split (null), or a fixed
   * number drawn afresh each epoch (the quick preset's budget).
   */
  samplesPerEpoch: number | null;
  seed: number;
  augment: boolean;
  recallTarget: number;
  preset: PresetName;
  /** The data path, or null for the built-in simulated survey. */
  data: string | null;
  /** Keras's class_weight on the training loss (src/train/class-weight.ts). */
  classWeight: ClassWeightOption;
  /** The learning-rate schedule (src/train/lr-schedule.ts), and the plateau's factor and patience. */
  lrSchedule: LrScheduleName;
  lrFactor: number;
  lrPatience: number;
  /** Early stopping: epochs without a lower validation loss before the run stops (null: never). */
  patience: number | null;
  /** 'temperature': fit a temperature on the validation split, store it in best.h5 and apply it to the test set. */
  calibrate: 'none' | 'temperature';
  /** Fine-tuning: the checkpoint (HDF5 or ONNX) whose architecture and weights the run starts from; `model` is then its path. */
  initWeights: string | null;
  /** A labels file of `handscan scan`: the run trains on the candidates of `data` it labels, `labels` being its scheme. */
  scanLabels: string | null;
}

/** Options added after runs were first saved, as a saved run without them trained. */
export const LATER_DEFAULTS: Pick<RunConfig, 'classWeight' | 'lrSchedule' | 'lrFactor' | 'lrPatience' | 'patience' | 'calibrate' | 'initWeights' | 'scanLabels'> = {
  classWeight: 'none',
  lrSchedule: 'constant',
  lrFactor: 0.1,
  lrPatience: 2,
  patience: null,
  calibrate: 'none',
  initWeights: null,
  scanLabels: null,
};

/**
 * The notebook's protocol (Negm 2021): initial = RMSprop, batch 64, 50
 * epochs; tuned = Adam, batch 128, 200 epochs; Keras's default learning rate.
 * braai (and an architecture file) = Adam at braai's 3e-4 (d6_m7.h5's
 * training_config), batch 64, 200 epochs.
 */
export function paperProtocol(model: ModelName | null): Pick<RunConfig, 'optimizer' | 'lr' | 'batchSize' | 'epochs' | 'samplesPerEpoch'> {
  if (model === 'initial') return { optimizer: 'rmsprop', lr: RMSPROP_DEFAULTS.lr, batchSize: 64, epochs: 50, samplesPerEpoch: null };
  if (model === 'tuned') return { optimizer: 'adam', lr: ADAM_DEFAULTS.lr, batchSize: 128, epochs: 200, samplesPerEpoch: null };
  return { optimizer: 'adam', lr: BRAAI_LR, batchSize: 64, epochs: 200, samplesPerEpoch: null };
}

/** braai's Adam learning rate (3e-4, stored as float32 in d6_m7.h5). */
const BRAAI_LR = 3e-4;

/**
 * A budget that finishes in minutes on a 2-core machine through lavapipe: the
 * paper's optimizer and batch size, 6 epochs of 3,072 training samples each
 * (about 1.6 passes over the 11,436-sample training split), full validation
 * and test sets.
 */
export function quickProtocol(model: ModelName | null): Pick<RunConfig, 'optimizer' | 'lr' | 'batchSize' | 'epochs' | 'samplesPerEpoch'> {
  return { ...paperProtocol(model), epochs: 6, samplesPerEpoch: 3072 };
}

/** The options `train` accepts, as node:util parseArgs wants them. */
export const TRAIN_OPTIONS = {
  model: { type: 'string' },
  data: { type: 'string' },
  preprocess: { type: 'string' },
  labels: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  'samples-per-epoch': { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  loss: { type: 'string' },
  seed: { type: 'string' },
  augment: { type: 'boolean' },
  out: { type: 'string' },
  resume: { type: 'boolean' },
  'recall-target': { type: 'string' },
  preset: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'class-weight': { type: 'string' },
  'lr-schedule': { type: 'string' },
  'lr-factor': { type: 'string' },
  'lr-patience': { type: 'string' },
  patience: { type: 'string' },
  calibrate: { type: 'string' },
  verbose: { type: 'boolean' },
  'init-weights': { type: 'string' },
} as const;

function choice<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`train: --${name} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

/**
 * Resolves the options over a preset. `software` says whether the adapter is
 * a CPU implementation: then the default preset is 'quick', else 'paper'.
 */
/** What the run's files say before the options are resolved: a fine-tuned checkpoint's preprocessing, a labels file's scheme. */
export interface FileDefaults {
  preprocess?: PreprocessStepName;
  scanLabels?: { path: string; scheme: LabelScheme };
}

export function resolveConfig(values: Record<string, string | boolean | undefined>, software: boolean, files: FileDefaults = {}): RunConfig {
  const str = (k: string) => values[k] as string | undefined;
  const initWeights = str('init-weights') ?? null;
  if (initWeights !== null && str('model') !== undefined) throw new UsageError('train: --init-weights gives the architecture with the weights; drop --model');
  // A fine-tuning run takes the protocol of a network that is not the paper's (Adam at braai's 3e-4).
  const model = initWeights === null ? resolveModel('train', str('model')) : { label: initWeights, builtIn: null };
  const preset = choice('preset', str('preset'), PRESET_NAMES, software ? 'quick' : 'paper');
  const base = preset === 'paper' ? paperProtocol(model.builtIn) : quickProtocol(model.builtIn);
  const labels = files.scanLabels?.scheme ?? str('labels') ?? 'binary';
  if (!isLabelScheme(labels)) throw new UsageError(`train: --labels must be one of ${LABEL_SCHEMES.join(', ')}, got '${labels}'`);
  const positiveInt = (v: number) => Number.isInteger(v) && v > 0;
  const samples = str('samples-per-epoch');
  return {
    model: model.label,
    preprocess: preprocessOption('train', str('preprocess'), files.preprocess ?? 'scale255'),
    labels,
    optimizer: choice('optimizer', str('optimizer'), OPTIMIZER_NAMES, base.optimizer),
    lr: numberOption('train', 'lr', str('lr'), base.lr, (v) => v > 0 && v < 10, 'a learning rate in (0, 10)'),
    loss: choice('loss', str('loss'), LOSS_NAMES, DEFAULT_LOSS),
    batchSize: numberOption('train', 'batch-size', str('batch-size'), base.batchSize, (v) => positiveInt(v) && v <= 4096, 'an integer in 1..4096'),
    epochs: numberOption('train', 'epochs', str('epochs'), base.epochs, positiveInt, 'a positive integer'),
    samplesPerEpoch: samples === 'all' ? null : samples === undefined ? base.samplesPerEpoch : numberOption('train', 'samples-per-epoch', samples, 0, positiveInt, "a positive integer or 'all'"),
    seed: numberOption('train', 'seed', str('seed'), 1, (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32, 'an integer in 0..2^32-1'),
    augment: Boolean(values.augment),
    recallTarget: numberOption('train', 'recall-target', str('recall-target'), DEFAULT_RECALL_TARGET, (v) => v > 0 && v <= 1, 'a recall in (0, 1]'),
    preset,
    data: str('data') ?? null,
    classWeight: parseClassWeight(str('class-weight'), classNames(labels).length),
    lrSchedule: choice('lr-schedule', str('lr-schedule'), LR_SCHEDULES, LATER_DEFAULTS.lrSchedule),
    lrFactor: numberOption('train', 'lr-factor', str('lr-factor'), LATER_DEFAULTS.lrFactor, (v) => v > 0 && v < 1, 'a factor in (0, 1)'),
    lrPatience: numberOption('train', 'lr-patience', str('lr-patience'), LATER_DEFAULTS.lrPatience, positiveInt, 'a positive integer'),
    calibrate: choice('calibrate', str('calibrate'), ['none', 'temperature'] as const, LATER_DEFAULTS.calibrate),
    patience: str('patience') === undefined ? null : numberOption('train', 'patience', str('patience'), 0, positiveInt, 'a positive integer'),
    initWeights,
    scanLabels: files.scanLabels?.path ?? null,
  };
}

/** The resolved configuration, one option per line, as printed at the start of a run. */
export function describeConfig(c: RunConfig): string {
  const epoch = c.samplesPerEpoch === null ? 'the whole training split' : `${c.samplesPerEpoch} training samples`;
  return [
    `preset        ${c.preset}${c.preset === 'quick' ? ' (a short budget for a CPU; --preset paper runs the paper\'s full protocol)' : ''}`,
    `model         ${c.initWeights === null ? c.model : `${c.initWeights}: its architecture and weights, fine-tuned`}`,
    `preprocess    ${c.preprocess}`,
    `labels        ${c.labels}${c.scanLabels === null ? '' : ` (scanned: ${c.scanLabels})`}`,
    `optimizer     ${c.optimizer} (lr ${c.lr}, Keras 2 defaults otherwise)`,
    `lr schedule   ${c.lrSchedule === 'plateau' ? `plateau (×${c.lrFactor} after ${c.lrPatience} epochs without a lower val_loss)` : c.lrSchedule === 'cosine' ? 'cosine decay per epoch towards 0' : 'constant'}`,
    `early stop    ${c.patience === null ? 'no' : `after ${c.patience} epoch${c.patience === 1 ? '' : 's'} without a lower val_loss`}`,
    `calibrate     ${c.calibrate === 'temperature' ? 'a temperature fitted on the validation split' : 'no'}`,
    `class weight  ${typeof c.classWeight === 'string' ? c.classWeight : c.classWeight.join(', ')}`,
    `loss          ${c.loss === 'logits' ? 'cross-entropy from the logits (as tf.keras)' : "Keras 2.2's cross-entropy, probabilities clipped to [1e-7, 1 - 1e-7]"}`,
    `batch size    ${c.batchSize}`,
    `epochs        ${c.epochs}, each of ${epoch}`,
    `augment       ${c.augment ? 'flips and 90° rotations' : 'no'}`,
    `seed          ${c.seed}`,
    `recall target ${c.recallTarget}`,
    `data          ${c.data ?? 'built-in simulated SDSS-II survey (21,785 cutouts)'}`,
  ].join('\n');
}
