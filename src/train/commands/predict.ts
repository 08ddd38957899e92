// `handscan predict`: score cutouts with a Handscan or Keras checkpoint and
// write one CSV row per cutout.
import { inferenceSource, sampleCount } from '../../data/dataset.ts';
import { classNames, schemeForOutputs, type LabelScheme } from '../../data/labels.ts';
import { loadDataset } from '../../data/load.ts';
import { DEFAULT_INFERENCE_BATCH } from '../../kernels/engine.ts';
import { gpuBackend } from '../../kernels/gpu-backend.ts';
import { openEngine } from '../../platform/node/engine.ts';
import { MODEL_NAMES, type ModelName } from '../../nn/models.ts';
import { writeFileAtomic } from '../../io/atomic-file.ts';
import { checkOutputFile } from '../../io/output-path.ts';
import { loadCheckpoint, modelFromCheckpoint } from '../checkpoint.ts';
import { numberOption, parseOptions, type Command } from '../command.ts';
import { UsageError } from '../../errors.ts';
import { predictAll } from '../fit.ts';
import { progress } from '../progress.ts';

const help = `handscan predict: score cutouts with a trained network

usage: tsx src/train/main.ts predict --weights FILE --data PATH --out FILE.csv [options]

options:
  --weights FILE          a Handscan checkpoint (runs/<run>/best.h5) or a Keras 2 HDF5 file
                          (weights at the root or under model_weights)
  --data PATH             an sdss.hdf5 file or a folder of PNG cutouts (one sub-folder per class)
  --out FILE.csv          where to write: id, one probability column per class, label
  --model initial|tuned   the architecture when the file has no model_config [initial]
  --threshold T           binary models: label 'real' when p_real >= T [0.5]
  --batch-size N          cutouts per GPU batch [${DEFAULT_INFERENCE_BATCH}]

Columns: p_not_real, p_real for 2 classes; p_<class> for the 3 visual or 10 original classes
(lower case, spaces as '_'). 'label' is the predicted class name.`;

/** CSV column names for a model's outputs. */
function columns(classes: number): { scheme: LabelScheme; names: readonly string[] } {
  const scheme = schemeForOutputs(classes);
  return { scheme, names: classNames(scheme).map((n) => n.toLowerCase().replace(/[^a-z0-9]+/g, '_')) };
}

const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

async function run(argv: string[]): Promise<void> {
  const { values } = parseOptions('predict', argv, {
    weights: { type: 'string' },
    data: { type: 'string' },
    out: { type: 'string' },
    model: { type: 'string' },
    threshold: { type: 'string' },
    'batch-size': { type: 'string' },
  });
  for (const required of ['weights', 'data', 'out'] as const) {
    if (!values[required]) throw new UsageError(`predict: --${required} is required (see \`handscan predict --help\`)`);
  }
  const model = (values.model ?? 'initial') as ModelName;
  if (!MODEL_NAMES.includes(model)) throw new UsageError(`predict: --model must be one of ${MODEL_NAMES.join(', ')}, got '${values.model}'`);
  const threshold = numberOption('predict', 'threshold', values.threshold, 0.5, (v) => v >= 0 && v <= 1, 'a probability in [0, 1]');
  const batchSize = numberOption('predict', 'batch-size', values['batch-size'], DEFAULT_INFERENCE_BATCH, (v) => Number.isInteger(v) && v > 0 && v <= 4096, 'an integer in 1..4096');
  // Inputs and the output path are checked before the GPU is opened.
  checkOutputFile('predict', 'out', values.out!);
  const dataset = await loadDataset(values.data!);
  const ckpt = await loadCheckpoint(values.weights!);
  const g = await openEngine({ inferenceBatch: batchSize });
  try {
    const net = modelFromCheckpoint(values.weights!, ckpt, gpuBackend(g), model);
    const { names } = columns(net.classes);
    const n = sampleCount(dataset);
    const source = inferenceSource(dataset, net.classes);
    console.log(`WebGPU adapter: ${g.info.name}; scoring ${n.toLocaleString('en-US')} cutouts from ${dataset.source}`);
    const bar = progress('predict', n);
    const t0 = performance.now();
    const probs = await predictAll(net, source, { onProgress: (done) => bar.update(done) });
    const seconds = (performance.now() - t0) / 1000;
    const k = net.classes;
    const rows = [['id', ...names.map((c) => `p_${c}`), 'label'].join(',')];
    for (let i = 0; i < n; i++) {
      const p = probs.subarray(i * k, (i + 1) * k);
      let best = 0;
      for (let c = 1; c < k; c++) if (p[c] > p[best]) best = c;
      if (k === 2) best = p[1] >= threshold ? 1 : 0;
      rows.push([quote(dataset.ids[i]), ...Array.from(p, (v) => v.toPrecision(6)), names[best]].join(','));
    }
    await writeFileAtomic(values.out!, `${rows.join('\n')}\n`);
    bar.finish(`${n} cutouts in ${seconds.toFixed(1)} s (${(n / seconds).toFixed(1)} img/s); wrote ${values.out}`);
  } finally {
    g.destroy();
  }
}

const command: Command = { name: 'predict', help, run };
export default command;
