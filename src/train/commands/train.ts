// `handscan train`: the paper's protocol end to end. Split the data (saved with
// the run), train with validation every epoch, keep the weights with the
// lowest validation loss, reload them and evaluate on the test set.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describeCounts, labelsFor, sampleCount, type Dataset } from '../../data/dataset.ts';
import { fitPixelBaseline, scorePixelBaseline } from '../../data/baseline.ts';
import { classNames } from '../../data/labels.ts';
import { scanLabelsScheme, scannedDataset } from '../../data/scanned-dataset.ts';
import { loadSplit, saveSplit, stratifiedSplit, type Split } from '../../data/split.ts';
import type { Engine } from '../../kernels/engine.ts';
import { cpuBackend } from '../../kernels/cpu-backend.ts';
import { gpuBackend } from '../../kernels/gpu-backend.ts';
import { checkOutputFolder } from '../../io/output-path.ts';
import { openEngine } from '../../platform/node/engine.ts';
import { graphOf } from '../../nn/model.ts';
import { isGraph, type Architecture } from '../../nn/spec.ts';
import { makeOptimizer } from '../../nn/optimizers.ts';
import { buildModel } from '../../nn/sequential.ts';
import { applyWeights, loadCheckpoint, saveCheckpoint, type LoadedCheckpoint, type TrainingState } from '../checkpoint.ts';
import { checkInput, imageInputShape } from '../scoring.ts';
import { parseOptions, type Command } from '../command.ts';
import { describeConfig, LATER_DEFAULTS, type FileDefaults, resolveConfig, savedLoss, TRAIN_OPTIONS, type RunConfig } from '../config.ts';
import { classWeights, describeClassWeight } from '../class-weight.ts';
import { scheduledLr, stopsEarly } from '../lr-schedule.ts';
import { applyTemperature, fitTemperature, logitsOf } from '../calibration.ts';
import { describeDiagnostics, diagnose, snapshotParameters } from '../diagnostics.ts';
import { resolveModel } from '../model-choice.ts';
import { loadRunData } from '../data.ts';
import { InputError, UsageError } from '../../errors.ts';
import { epochOrder, predictAll, tally, trainEpoch, wentDead, type Tally } from '../fit.ts';
import type { EpochHistory } from '../plots.ts';
import { progress } from '../progress.ts';
import { binaryEvaluation, evaluate, writeReport } from '../report.ts';
import { batchSource } from '../source.ts';

const help = `handscan train: train a network and report on its test set

usage: tsx src/train/main.ts train [options]      (npm start runs this with the defaults)

options:
  --init-weights FILE       fine-tune: start from this checkpoint's architecture and weights (a
                            Handscan or Keras HDF5 file, or an ONNX model), its preprocessing by
                            default; Adam at 3e-4 unless told. Instead of --model
  --model NAME|FILE.json    initial: the paper's initial network (RMSprop); tuned: its tuned one
                            (Adam, dropout); braai: ZTF's VGG6 (Adam at 3e-4, one sigmoid output,
                            binary labels); or a Keras Sequential architecture file
                            (model.to_json(), as braai's *.architecture.json) [initial]
                            Built-in networks take their input shape from the data.
  --data PATH               an HDF5 file, a folder of PNG or FITS cutouts (one sub-folder per class)
                            [the built-in simulated survey, generated and cached on first use]
  --preprocess NAME         how pixels become the network's input: scale255 (x/255), braai,
                            braai-rows or none (\`handscan preprocess --list\`) [scale255]
  --labels binary|visual|original|FILE.jsonl   real/bogus (paper), 3 visual or 10 original classes
                            [binary]; or a labels file of \`handscan scan\`: train on the candidates
                            of --data it labels (their latest label; unsure left out), in its scheme,
                            with a split of their own (with --init-weights: fine-tune on the scan)
  --preset paper|quick      paper: the notebook's optimizer, batch size and epochs (50 initial,
                            200 tuned), for a GPU; quick: the same with 6 epochs of 3,072 samples,
                            minutes on a CPU [quick on a software adapter, paper on a GPU]
  --epochs N                override the preset's epochs
  --batch-size N            override the preset's batch size (64 initial, 128 tuned)
  --samples-per-epoch N|all training samples drawn per epoch [quick: 3072, paper: all]
  --optimizer rmsprop|adam  override the preset's optimizer
  --lr X                    learning rate [0.001, Keras's default]
  --lr-schedule constant|plateau|cosine   constant; plateau: Keras's ReduceLROnPlateau on val_loss
                            (lr × --lr-factor [0.1] after --lr-patience [2] epochs without a val_loss
                            lower by 1e-4, min_lr 0); cosine: per epoch from lr towards 0 over the
                            epochs, epoch e of E at lr·(1 + cos(π(e−1)/E))/2 [constant]
  --patience N              stop once N epochs in a row bring no lower val_loss (Keras's EarlyStopping;
                            the best weights are reloaded for the test set in any case) [never]
  --class-weight balanced|none|w0,w1,...   Keras's class_weight: each training sample's loss term
                            times its class's weight; balanced = n / (classes · count of the class) on
                            the training split. The reported training loss is weighted, as Keras's;
                            validation and test losses are not [none]
  --calibrate none|temperature   temperature: fit T > 0 on the validation split (the NLL of logits/T),
                            store it in best.h5 and apply it to the test set; predict and evaluate
                            apply it too. The ranking, so the ROC, is unchanged [none]
  --loss logits|keras2-clipped   the cross-entropy: from the logits, as tf.keras [logits]; or Keras
                            2.2's, through probabilities clipped to [1e-7, 1 - 1e-7], for exact
                            reproduction (a run whose outputs all reach the clip has no gradient left:
                            it stops, saying so)
  --seed N                  seeds the split, the weights, the shuffling, dropout, augmentation [1]
  --augment                 random flips and 90° rotations of training cutouts
  --recall-target R         report the threshold reaching this recall [0.965, the paper's]
  --out DIR                 the run's folder [runs/<model>-<labels>-seed<seed>]
  --resume                  continue the run in --out (or the newest under runs/) from its last checkpoint
  --verbose                 print per-layer diagnostics after each epoch (dead ReLU share, gradient
                            norm, update-to-weight ratio; always in report.json)
  --dry-run                 print the resolved configuration and split sizes, then stop

The run's folder holds config.json, split.json, last.h5 (every epoch, with the optimizer state),
best.h5 (lowest validation loss, a Keras 2 model file), report.json, report.md and plots.`;

/** The newest run folder under runs/ that has a last checkpoint. */
function newestRun(): string {
  const runs = existsSync('runs') ? readdirSync('runs').map((d) => join('runs', d)).filter((d) => existsSync(join(d, 'last.h5'))) : [];
  if (runs.length === 0) throw new UsageError('train: --resume found no run with a checkpoint under runs/; name one with --out DIR');
  return runs.sort((a, b) => statSync(join(b, 'last.h5')).mtimeMs - statSync(join(a, 'last.h5')).mtimeMs)[0];
}

async function run(argv: string[]): Promise<void> {
  const { values } = parseOptions('train', argv, TRAIN_OPTIONS);
  // Options, checkpoint and data are all checked before the GPU is opened.
  let config: RunConfig;
  let state: TrainingState | null = null;
  let dir: string;
  // The checkpoint a fine-tuning run starts from, and what it and a labels file say.
  let init: LoadedCheckpoint | null = null;
  let files: FileDefaults = {};
  if (values.resume) {
    const allowed = new Set(['resume', 'out', 'epochs', 'dry-run', 'verbose']);
    const extra = Object.keys(values).filter((k) => !allowed.has(k));
    if (extra.length > 0) throw new UsageError(`train: --resume continues a run with its own options; drop --${extra.join(', --')} (only --out, --epochs and --verbose apply)`);
    dir = values.out ?? newestRun();
    const last = join(dir, 'last.h5');
    if (!existsSync(last)) throw new InputError(`${dir}: no last.h5 checkpoint to resume from`);
    state = (await loadCheckpoint(last)).state;
    if (!state) throw new InputError(`${last}: a checkpoint without training state (a Keras file?) cannot be resumed`);
    // A run saved before --preprocess existed read uint8 cutouts through scale255.
    config = { ...LATER_DEFAULTS, ...state.config, preprocess: state.config.preprocess ?? 'scale255', loss: savedLoss(state.config), epochs: values.epochs === undefined ? state.config.epochs : resolveConfig({ epochs: values.epochs }, true).epochs };
    if (config.initWeights !== null) init = await loadCheckpoint(config.initWeights);
  } else {
    if (values['init-weights'] !== undefined) init = await loadCheckpoint(values['init-weights']);
    files = { preprocess: init?.preprocess ?? undefined, scanLabels: values.labels?.endsWith('.jsonl') ? { path: values.labels, scheme: scanLabelsScheme(values.labels) } : undefined };
    // The preset's default depends on the adapter: resolved again once it is known.
    config = resolveConfig(values, true, files);
    const stem = basename(config.model).replace(/\.architecture\.json$|\.(json|h5|hdf5|keras|onnx)$/, '');
    dir = values.out ?? join('runs', `${stem}${config.initWeights === null ? '' : '-finetuned'}-${config.labels}-seed${config.seed}`);
    if (existsSync(join(dir, 'last.h5')) && !values['dry-run']) {
      throw new UsageError(`train: ${dir} already holds a run; continue it with --resume --out ${dir}, or choose another --out`);
    }
  }
  checkOutputFolder('train', 'out', dir);
  const loaded = await loadRunData(config.data, { preprocess: config.preprocess });
  const data = config.scanLabels === null ? loaded : { ...loaded, dataset: scannedDataset(loaded.dataset, config.scanLabels) };
  const labels = labelsFor(data.dataset, config.labels);
  // Checked before the GPU opens too: the network must fit the data and the labels.
  const classes = classNames(config.labels).length;
  const architecture = init ? initialArchitecture(config.initWeights!, init, data.dataset) : resolveModel('train', config.model).spec(classes, data.dataset.shape);
  checkOutputs(config, buildModel(architecture, cpuBackend, 0).classes, classes);
  const splitPath = join(dir, 'split.json');
  const split: Split = existsSync(splitPath) ? loadSplit(splitPath, data.dataset) : stratifiedSplit(data.dataset.labels, config.seed);

  const g = await openEngine();
  try {
    console.log(`WebGPU adapter: ${g.info.name}${g.info.software ? ' (software: a CPU Vulkan driver)' : ''}`);
    if (state) console.log(`resuming ${dir} after epoch ${state.epoch}`);
    else config = resolveConfig(values, g.info.software, files);
    console.log(describeConfig(config));
    console.log(`data          ${data.dataset.source}: ${sampleCount(data.dataset).toLocaleString('en-US')} cutouts (${describeCounts(labels, config.labels)})`);
    console.log(`split         ${split.train.length} train / ${split.validation.length} validation / ${split.test.length} test (seeded, stratified)`);
    if (values['dry-run']) return;
    mkdirSync(dir, { recursive: true });
    if (!existsSync(splitPath)) await saveSplit(splitPath, split, data.dataset);
    await trainRun(g, dir, config, architecture, init, state, data.dataset, split, data.simulated, Boolean(values.verbose));
  } finally {
    g.destroy();
  }
}

/** The test set's calibration figures before temperature scaling, for the report. */
function uncalibrated(probs: Float32Array, labels: Int32Array, scheme: RunConfig['labels'], recallTarget: number): { ece: number; brier: number } {
  const { ece, brier } = evaluate(probs, labels, scheme, recallTarget, NaN).binary.calibration;
  return { ece, brier };
}

/** A fine-tuning run's architecture: the checkpoint's own, at the data's shape. */
function initialArchitecture(path: string, init: LoadedCheckpoint, dataset: Dataset): Architecture {
  const architecture = init.graph ?? init.spec;
  if (!architecture) throw new InputError(`checkpoint ${path}: holds weights without a model_config, so no architecture to fine-tune; train it from --model instead`);
  checkInput(path, imageInputShape(path, isGraph(architecture) ? architecture : graphOf(architecture)), dataset, dataset.preprocess);
  return architecture;
}

/** A sigmoid head (1 output) trains on binary labels; a softmax head needs one output per class. */
function checkOutputs(config: RunConfig, outputs: number, classes: number): void {
  if (outputs === 1 ? config.labels === 'binary' : outputs === classes) return;
  const has = outputs === 1 ? 'one sigmoid output (p_real), so it trains on --labels binary' : `${outputs} outputs`;
  throw new UsageError(`train: ${config.model} has ${has}, but --labels ${config.labels} has ${classes} classes`);
}

async function trainRun(g: Engine, dir: string, config: RunConfig, architecture: Architecture, init: LoadedCheckpoint | null, resumed: TrainingState | null, dataset: Dataset, split: Split, simulated: boolean, verbose: boolean): Promise<void> {
  const adapter = g.info.name;
  const backend = gpuBackend(g);
  const model = buildModel(architecture, backend, config.seed, config.loss);
  const largestBatch = Math.floor(g.maxTensorBytes / (4 * model.largestActivation()));
  if (config.batchSize > largestBatch) throw new UsageError(`train: --batch-size ${config.batchSize} does not fit this adapter's ${(g.maxTensorBytes / 2 ** 20).toFixed(0)} MiB buffers; at most ${largestBatch}`);
  const optimizer = makeOptimizer(config.optimizer, backend, model.parameters(), config.lr);
  const lastPath = join(dir, 'last.h5');
  const bestPath = join(dir, 'best.h5');
  const train = batchSource(dataset, config.labels, split.train, model.classes);
  const validation = batchSource(dataset, config.labels, split.validation, model.classes);
  const history: EpochHistory[] = resumed?.history ?? [];
  let best = { epoch: resumed?.bestEpoch ?? 0, valLoss: resumed?.bestValLoss ?? Infinity };
  const weights = classWeights(config.classWeight, train.labels, classNames(config.labels).length);
  if (weights) console.log(`class weights ${describeClassWeight(config.classWeight, weights)}`);
  const schedule = { name: config.lrSchedule, lr: config.lr, factor: config.lrFactor, patience: config.lrPatience, epochs: config.epochs };
  if (resumed) {
    const ckpt = await loadCheckpoint(lastPath);
    applyWeights(lastPath, model, ckpt.weights);
    optimizer.setState(resumed.optimizer);
  } else {
    if (init) applyWeights(config.initWeights!, model, init.weights);
    console.log(model.summary());
  }
  const started = performance.now();
  let trainSeconds = 0;
  let trainImages = 0;
  for (let epoch = (resumed?.epoch ?? 0) + 1; epoch <= config.epochs; epoch++) {
    // Checked before the epoch rather than after, so that a run killed after stopping stops again on --resume.
    if (stopsEarly(config.patience, epoch - 1, best.epoch)) {
      console.log(`early stop after epoch ${epoch - 1}: no lower validation loss in ${config.patience} epoch${config.patience === 1 ? '' : 's'}`);
      break;
    }
    optimizer.lr = scheduledLr(schedule, epoch, history);
    const title = `Epoch ${epoch}/${config.epochs}`;
    const order = epochOrder(train.count, config.seed, epoch);
    const part = config.samplesPerEpoch === null ? order : order.subarray(0, Math.min(config.samplesPerEpoch, order.length));
    const bar = progress(title, part.length);
    const before = await snapshotParameters(model);
    const t0 = performance.now();
    const t = await trainEpoch(model, optimizer, train, part, config.batchSize, {
      augmentSeed: config.augment ? config.seed : undefined,
      classWeights: weights ?? undefined,
      onProgress: (p) => {
        if (!Number.isFinite(p.loss)) throw new InputError(`training diverged: the loss is ${p.loss} in epoch ${epoch}; ${existsSync(lastPath) ? `${lastPath} holds the last good epoch` : 'no checkpoint was written yet'} (try a lower --lr)`);
        bar.update(p.done, { loss: p.loss.toFixed(4), acc: p.accuracy.toFixed(4) });
      },
    });
    if (wentDead(t, config.loss)) {
      throw new InputError(`training went dead at epoch ${epoch}: every output sits at the probability clip, where --loss keras2-clipped has no gradient (loss ${(t.loss / t.count).toFixed(4)}); lower --lr or use --loss logits`);
    }
    const seconds = (performance.now() - t0) / 1000;
    trainSeconds += seconds;
    trainImages += part.length;
    const v: Tally = { loss: 0, correct: 0, count: 0 };
    tally(v, await predictAll(model, validation), validation.labels, model.classes, config.loss);
    const h: EpochHistory = { epoch, loss: t.loss / t.count, accuracy: t.correct / t.count, valLoss: v.loss / v.count, valAccuracy: v.correct / v.count, lr: optimizer.lr, atClip: t.atClip / t.count, diagnostics: await diagnose(model, validation, before) };
    if (!Number.isFinite(h.valLoss!)) throw new InputError(`training diverged: the validation loss is ${h.valLoss} after epoch ${epoch}; ${lastPath} holds the last good epoch (try a lower --lr)`);
    history.push(h);
    const improved = h.valLoss! < best.valLoss;
    if (improved) {
      best = { epoch, valLoss: h.valLoss! };
      await saveCheckpoint(bestPath, model, { preprocess: config.preprocess });
    }
    await saveCheckpoint(lastPath, model, { preprocess: config.preprocess, optimizer, state: { epoch, history, bestEpoch: best.epoch, bestValLoss: best.valLoss, config } });
    bar.finish(
      `loss ${h.loss.toFixed(4)} - accuracy ${h.accuracy.toFixed(4)} - val_loss ${h.valLoss!.toFixed(4)} - val_accuracy ${h.valAccuracy!.toFixed(4)} - lr ${optimizer.lr.toPrecision(3)} - ${(part.length / seconds).toFixed(1)} img/s - ${seconds.toFixed(0)}s${improved ? ` (best so far: saved ${bestPath})` : ''}`,
    );
    if (verbose) console.log(`  training samples at the probability clip: ${(100 * h.atClip!).toFixed(1)}%\n${describeDiagnostics(h.diagnostics!)}`);
  }

  console.log(`reloading the weights of epoch ${best.epoch} (lowest validation loss ${best.valLoss.toFixed(4)})`);
  const bestCkpt = await loadCheckpoint(bestPath);
  applyWeights(bestPath, model, bestCkpt.weights);
  const test = batchSource(dataset, config.labels, split.test, model.classes);
  const t0 = performance.now();
  const raw = await predictAll(model, test);
  const testSeconds = (performance.now() - t0) / 1000;
  let probs = raw;
  let temperature: number | undefined;
  if (config.calibrate === 'temperature') {
    temperature = fitTemperature(logitsOf(await predictAll(model, validation), model.classes), validation.labels, model.classes);
    await saveCheckpoint(bestPath, model, { preprocess: config.preprocess, temperature });
    probs = applyTemperature(raw, model.classes, temperature);
    console.log(`temperature ${temperature.toPrecision(4)}, fitted on the validation split: stored in ${bestPath}`);
  }
  const tt: Tally = { loss: 0, correct: 0, count: 0 };
  tally(tt, probs, test.labels, model.classes, config.loss);
  const evaluation = evaluate(probs, test.labels, config.labels, config.recallTarget, tt.loss / tt.count);
  // The yardstick a CNN must clearly beat, on the same split.
  const real = labelsFor(dataset, 'binary');
  const baseline = binaryEvaluation(
    scorePixelBaseline(fitPixelBaseline(dataset, split.train, real), dataset, split.test),
    Int32Array.from(split.test, (i) => real[i]),
    config.recallTarget,
  );
  const name = dir.split('/').filter(Boolean).pop()!;
  await writeReport(dir, {
    name,
    model: config.model,
    preprocess: config.preprocess,
    scheme: config.labels,
    simulated,
    history,
    test: evaluation,
    baseline,
    details: {
      config,
      seed: config.seed,
      adapter,
      bestEpoch: best.epoch,
      bestValLoss: best.valLoss,
      classWeights: weights && Array.from(weights),
      ...(temperature === undefined ? {} : { temperature, uncalibrated: uncalibrated(raw, test.labels, config.labels, config.recallTarget) }),
      split: { train: split.train.length, validation: split.validation.length, test: split.test.length },
      timings: {
        trainSeconds,
        trainImagesPerSecond: trainImages > 0 ? trainImages / trainSeconds : null,
        testSeconds,
        testImagesPerSecond: test.count / testSeconds,
        wallSeconds: (performance.now() - started) / 1000,
      },
    },
  });
  const b = evaluation.binary;
  console.log(`test: ECE ${b.calibration.ece.toFixed(4)}, Brier ${b.calibration.brier.toFixed(4)}${temperature === undefined ? '' : ' (temperature-scaled)'}`);
  console.log(
    `test: accuracy ${(100 * b.accuracy).toFixed(2)}% precision ${(100 * b.precision).toFixed(2)}% recall ${(100 * b.recall).toFixed(2)}% F1 ${(100 * b.f1).toFixed(2)}% fall-out ${(100 * b.fpr).toFixed(2)}% AUC ${b.auc.toFixed(4)}`,
  );
  console.log(`at recall ≥ ${config.recallTarget}: threshold ${b.atRecallTarget.threshold.toFixed(4)}, precision ${(100 * b.atRecallTarget.precision).toFixed(2)}%, fall-out ${(100 * b.atRecallTarget.fpr).toFixed(2)}%`);
  console.log(`pixel baseline (central 9×9×3, logistic regression): AUC ${baseline.auc.toFixed(4)}, fall-out ${(100 * baseline.atRecallTarget.fpr).toFixed(2)}% at recall ≥ ${config.recallTarget}`);
  console.log(`report: ${join(dir, 'report.md')}`);
}

const command: Command = { name: 'train', help, run };
export default command;
