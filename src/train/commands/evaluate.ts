// `handscan evaluate`: a checkpoint's figures on a run's test split, or on
// every sample of any labelled data.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { classNames, isLabelScheme, LABEL_SCHEMES, type LabelScheme } from '../../data/labels.ts';
import { loadSplit } from '../../data/split.ts';
import type { LossName } from '../../kernels/backend.ts';
import { gpuBackend } from '../../kernels/gpu-backend.ts';
import { checkOutputFolder } from '../../io/output-path.ts';
import { openEngine } from '../../platform/node/engine.ts';
import { DEFAULT_LOSS } from '../../nn/sequential.ts';
import { loadCheckpoint, modelFromCheckpoint } from '../checkpoint.ts';
import { numberOption, parseOptions, type Command } from '../command.ts';
import { loadRunData } from '../data.ts';
import { InputError, UsageError } from '../../errors.ts';
import { calibrated, checkInput, imageInputShape } from '../scoring.ts';
import { predictAll, tally, type Tally } from '../fit.ts';
import { preprocessOption, savedLoss } from '../config.ts';
import { MODEL_CHOICES, resolveModel } from '../model-choice.ts';
import { NETWORK_STEPS } from '../../data/samples.ts';
import { DEFAULT_RECALL_TARGET } from '../metrics.ts';
import { progress } from '../progress.ts';
import type { EpochHistory } from '../plots.ts';
import { evaluate, writeReport } from '../report.ts';
import { batchSource } from '../source.ts';

const help = `handscan evaluate: a checkpoint's test figures

usage: tsx src/train/main.ts evaluate --run DIR [options]
       tsx src/train/main.ts evaluate --weights FILE [--data PATH] [options]

options:
  --run DIR               a training run: its best.h5 on its own test split and data
  --weights FILE          a Handscan or Keras 2 checkpoint, evaluated on every sample of --data
  --data PATH             an HDF5 file with classes or a labelled cutout folder [the built-in simulated survey]
  --labels binary|visual|original   the label scheme the checkpoint predicts [from the run, else binary]
  --preprocess NAME       ${NETWORK_STEPS.join(', ')} [the checkpoint's own, else scale255]
  --model NAME|FILE.json  the architecture when the file has no model_config: ${MODEL_CHOICES} [initial]
  --recall-target R       also report the threshold reaching this recall [0.965]
  --out DIR               write report.json, report.md and plots there [DIR/evaluation for --run, else nothing]

A checkpoint trained with --calibrate temperature is evaluated on its calibrated probabilities.`;

async function run(argv: string[]): Promise<void> {
  const { values } = parseOptions('evaluate', argv, {
    run: { type: 'string' },
    weights: { type: 'string' },
    data: { type: 'string' },
    labels: { type: 'string' },
    model: { type: 'string' },
    preprocess: { type: 'string' },
    'recall-target': { type: 'string' },
    out: { type: 'string' },
  });
  if (!values.run === !values.weights) throw new UsageError('evaluate: give either --run DIR or --weights FILE');
  const recallTarget = numberOption('evaluate', 'recall-target', values['recall-target'], DEFAULT_RECALL_TARGET, (v) => v > 0 && v <= 1, 'a recall in (0, 1]');
  const fallback = resolveModel('evaluate', values.model);
  const chosen = preprocessOption('evaluate', values.preprocess, 'scale255');
  if (values.labels !== undefined && !isLabelScheme(values.labels)) throw new UsageError(`evaluate: --labels must be one of ${LABEL_SCHEMES.join(', ')}, got '${values.labels}'`);

  let weights = values.weights;
  let dataPath = values.data ?? null;
  let scheme = values.labels as LabelScheme | undefined;
  let out = values.out;
  let testOnly = false;
  let modelName = fallback.label;
  let loss: LossName = DEFAULT_LOSS;
  let history: EpochHistory[] = [];
  if (values.run) {
    weights = join(values.run, 'best.h5');
    const last = join(values.run, 'last.h5');
    if (!existsSync(weights) || !existsSync(last)) throw new InputError(`${values.run}: not a finished training run (no best.h5 and last.h5)`);
    const state = (await loadCheckpoint(last)).state;
    if (!state) throw new InputError(`${last}: no training state`);
    dataPath = values.data ?? state.config.data;
    scheme ??= state.config.labels;
    modelName = state.config.model;
    loss = savedLoss(state.config);
    history = state.history;
    // Beside the run's own report, never over it.
    out ??= join(values.run, 'evaluation');
    testOnly = values.data === undefined;
  }
  if (out) checkOutputFolder('evaluate', 'out', out);
  const ckpt = await loadCheckpoint(weights!);
  const preprocess = values.preprocess === undefined ? (ckpt.preprocess ?? 'scale255') : chosen;
  const data = await loadRunData(dataPath, { preprocess });
  const g = await openEngine();
  try {
    const model = modelFromCheckpoint(weights!, ckpt, gpuBackend(g), (classes) => fallback.spec(classes, data.dataset.shape));
    checkInput(weights!, imageInputShape(weights!, model.graph), data.dataset, preprocess);
    const labels = scheme ?? 'binary';
    const classes = classNames(labels).length;
    if (model.classes === 1 ? labels !== 'binary' : model.classes !== classes) throw new InputError(`${weights}: the model has ${model.classes} output${model.classes === 1 ? ' (p_real)' : 's'} but --labels ${labels} has ${classes} classes`);
    const members = testOnly ? loadSplit(join(values.run!, 'split.json'), data.dataset).test : Int32Array.from({ length: data.dataset.labels.length }, (_, i) => i);
    const source = batchSource(data.dataset, labels, members, model.classes);
    const bar = progress('evaluate', source.count);
    const probs = calibrated(await predictAll(model, source, { onProgress: (d) => bar.update(d) }), model.classes, ckpt);
    const t: Tally = { loss: 0, correct: 0, count: 0 };
    tally(t, probs, source.labels, model.classes, loss);
    const e = evaluate(probs, source.labels, labels, recallTarget, t.loss / t.count);
    const b = e.binary;
    bar.finish(`${testOnly ? 'test split' : 'all samples'}: ${source.count}`);
    console.log(`accuracy ${(100 * b.accuracy).toFixed(2)}% precision ${(100 * b.precision).toFixed(2)}% recall ${(100 * b.recall).toFixed(2)}% F1 ${(100 * b.f1).toFixed(2)}% fall-out ${(100 * b.fpr).toFixed(2)}% AUC ${b.auc.toFixed(4)}`);
    console.log(`at recall ≥ ${recallTarget}: threshold ${b.atRecallTarget.threshold.toFixed(4)}, precision ${(100 * b.atRecallTarget.precision).toFixed(2)}%, fall-out ${(100 * b.atRecallTarget.fpr).toFixed(2)}%`);
    if (out) {
      mkdirSync(out, { recursive: true });
      const name = (values.run ?? out).split('/').filter(Boolean).pop()!;
      await writeReport(out, { name, model: modelName, preprocess, scheme: labels, simulated: data.simulated, history, test: e, details: { weights, adapter: g.info.name, evaluated: testOnly ? 'test split' : 'all samples', temperature: ckpt.temperature } });
      console.log(`report: ${join(out, 'report.md')}`);
    }
  } finally {
    g.destroy();
  }
}

const command: Command = { name: 'evaluate', help, run };
export default command;
