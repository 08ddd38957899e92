// `handscan predict`: score cutouts with a Handscan or Keras checkpoint and
// write one CSV row per cutout (per alert packet, with ZTF's own drb beside
// Handscan's score when the packets carry one).
import { inferenceSource, sampleCount } from '../../data/dataset.ts';
import { predictedClass } from '../../data/labels.ts';
import { ACCEPTED_DATA, loadDataset } from '../../data/load.ts';
import { DEFAULT_INFERENCE_BATCH } from '../../kernels/engine.ts';
import { gpuBackend } from '../../kernels/gpu-backend.ts';
import { openEngine } from '../../platform/node/engine.ts';
import { writeFileAtomic } from '../../io/atomic-file.ts';
import { checkOutputFile } from '../../io/output-path.ts';
import { numberOption, parseOptions, type Command } from '../command.ts';
import { InputError, UsageError } from '../../errors.ts';
import { MODEL_CHOICES } from '../model-choice.ts';
import { NETWORK_STEPS } from '../../data/samples.ts';
import { predictAll } from '../fit.ts';
import { progress } from '../progress.ts';
import { hasDropout } from '../uncertainty.ts';
import { uncertaintyColumns, uncertaintyWork } from '../uncertainty-columns.ts';
import { ALERT_FIELDS, calibrated, checkInput, FLOAT32_DIGITS, imageInputShape, loadScoring, probabilityColumns, scoringChoices, scoringModel } from '../scoring.ts';

const help = `handscan predict: score cutouts with a trained network

usage: tsx src/train/main.ts predict --weights FILE --data PATH --out FILE.csv [options]

options:
  --weights FILE          a Handscan checkpoint (runs/<run>/best.h5) or a Keras 2 HDF5 file
                          (a full model, or weights at the root or under model_weights)
  --data PATH             ${ACCEPTED_DATA}
  --out FILE.csv          where to write: id, one probability column per class, label
  --preprocess NAME       ${NETWORK_STEPS.join(', ')}: how pixels become the network's input
                          [the checkpoint's own, else scale255]
  --model NAME|FILE.json  the architecture when the file has no model_config: ${MODEL_CHOICES} [initial]
  --threshold T           binary models: label 'real' when p_real >= T [0.5]
  --batch-size N          cutouts per GPU batch [${DEFAULT_INFERENCE_BATCH}]
  --tta                   also score each cutout under the 8 flips and rotations of the square
                          (the 4 that keep the shape of a cutout that is not square)
  --mc-dropout N          also score each cutout N times (2..1000) with the network's dropout
                          active and its batch normalisation as at inference (MC-dropout)
  --seed S                MC-dropout: the masks; the same seed and --batch-size repeat them [0]

Columns: p_real for a one-unit sigmoid model (braai); p_not_real, p_real for 2 classes;
p_<class> for the 3 visual or 10 original classes (lower case, spaces as '_'). 'label' is the
predicted class name. A checkpoint trained with --calibrate temperature stores a temperature T:
the columns are then calibrated, σ(z/T) or softmax(z/T) of the network's logits z. Alert packets add objectId, and drb and drbversion where ZTF's packets have
them. A packet with a missing or corrupt cutout is skipped, named on stderr and counted.

--tta adds tta_p_<class> (the mean probability over the transforms, one column per p_ column) and
tta_std (their standard deviation, over the transforms, of p_real for a sigmoid model, else of the
mean's most probable class); --mc-dropout adds mc_p_<class> and mc_std over the passes, and bald,
the BALD mutual information H(mean p) − mean H(p) in nats: 0 when every pass agrees, high where
the network's weights are unsure. They come last, calibrated as the p_ columns are.`;

const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

async function run(argv: string[]): Promise<void> {
  const { values } = parseOptions('predict', argv, {
    weights: { type: 'string' },
    data: { type: 'string' },
    out: { type: 'string' },
    model: { type: 'string' },
    threshold: { type: 'string' },
    preprocess: { type: 'string' },
    'batch-size': { type: 'string' },
    tta: { type: 'boolean' },
    'mc-dropout': { type: 'string' },
    seed: { type: 'string' },
  });
  for (const required of ['weights', 'data', 'out'] as const) {
    if (!values[required]) throw new UsageError(`predict: --${required} is required (see \`handscan predict --help\`)`);
  }
  const choices = scoringChoices('predict', values);
  const threshold = numberOption('predict', 'threshold', values.threshold, 0.5, (v) => v >= 0 && v <= 1, 'a probability in [0, 1]');
  const batchSize = numberOption('predict', 'batch-size', values['batch-size'], DEFAULT_INFERENCE_BATCH, (v) => Number.isInteger(v) && v > 0 && v <= 4096, 'an integer in 1..4096');
  const passes = values['mc-dropout'] === undefined ? 0 : numberOption('predict', 'mc-dropout', values['mc-dropout'], 0, (v) => Number.isInteger(v) && v >= 2 && v <= 1000, 'a number of passes in 2..1000');
  if (values.seed !== undefined && passes === 0) throw new UsageError('predict: --seed sets the MC-dropout masks: give it with --mc-dropout N');
  const uncertainty = { tta: values.tta === true, passes, seed: numberOption('predict', 'seed', values.seed, 0, (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32, 'an integer in 0..4294967295') };
  // Inputs and the output path are checked before the GPU is opened.
  checkOutputFile('predict', 'out', values.out!);
  const scoring = await loadScoring(values.weights!, choices);
  const preprocess = scoring.step;
  let skipped = 0;
  const dataset = await loadDataset(values.data!, {
    preprocess,
    onSkipped: (id, reason) => {
      skipped++;
      console.error(`skipped packet ${id}: ${reason}`);
    },
  });
  const g = await openEngine({ inferenceBatch: batchSize });
  try {
    const net = scoringModel(scoring, gpuBackend(g), dataset.shape);
    checkInput(values.weights!, imageInputShape(values.weights!, net.graph), dataset, preprocess);
    if (passes > 0 && !hasDropout(net)) throw new InputError(`predict: --mc-dropout: ${values.weights} has no dropout layer, so every pass would give the same scores`);
    const { labels, names } = probabilityColumns(net.classes);
    const n = sampleCount(dataset);
    const source = inferenceSource(dataset, net.classes);
    const temperature = scoring.checkpoint.temperature === null ? '' : `, calibrated at temperature ${scoring.checkpoint.temperature.toPrecision(4)}`;
    console.log(`WebGPU adapter: ${g.info.name}; scoring ${n.toLocaleString('en-US')} cutouts from ${dataset.source} (preprocessing ${preprocess}${temperature})`);
    const bar = progress('predict', n * (1 + uncertaintyWork(dataset, uncertainty)));
    const t0 = performance.now();
    const probs = calibrated(await predictAll(net, source, { onProgress: (done) => bar.update(done) }), net.classes, scoring.checkpoint);
    const spread = await uncertaintyColumns(net, dataset, names, uncertainty, (p) => calibrated(p, net.classes, scoring.checkpoint), (done) => bar.update(n + done));
    const seconds = (performance.now() - t0) / 1000;
    const k = net.classes;
    const alerts = dataset.candidates;
    const extra = alerts ? ['objectId', ...ALERT_FIELDS.filter((f) => alerts.some((c) => c.fields[f] !== undefined))] : [];
    const rows = [['id', ...names.map((c) => `p_${c}`), 'label', ...extra, ...spread.header].join(',')];
    for (let i = 0; i < n; i++) {
      const p = probs.subarray(i * k, (i + 1) * k);
      const facts = extra.map((f) => (f === 'objectId' ? alerts![i].objectId : String(alerts![i].fields[f] ?? '')));
      rows.push([quote(dataset.ids[i]), ...Array.from(p, (v) => v.toPrecision(FLOAT32_DIGITS)), labels[predictedClass(p, threshold)], ...facts.map(quote), ...spread.cells(i)].join(','));
    }
    await writeFileAtomic(values.out!, `${rows.join('\n')}\n`);
    bar.finish(`${n} cutouts in ${seconds.toFixed(1)} s (${(n / seconds).toFixed(1)} img/s); wrote ${values.out}`);
    if (skipped > 0) console.error(`skipped ${skipped} packet${skipped === 1 ? '' : 's'} with a missing or corrupt cutout (listed above)`);
  } finally {
    g.destroy();
  }
}

const command: Command = { name: 'predict', help, run };
export default command;
