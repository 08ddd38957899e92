// `handscan explain`: where the network looks, as one PNG per candidate and
// method (the cutout beside its saliency or occlusion map, src/train/explain.ts)
// and an index of what each PNG shows.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { displayPixels } from '../../data/contact-sheet.ts';
import { describeShape, sampleCount, type Dataset } from '../../data/dataset.ts';
import { ACCEPTED_DATA, loadDataset } from '../../data/load.ts';
import { NETWORK_STEPS } from '../../data/samples.ts';
import { InputError, UsageError } from '../../errors.ts';
import { writeFileAtomic } from '../../io/atomic-file.ts';
import { checkOutputFolder } from '../../io/output-path.ts';
import { DEFAULT_INFERENCE_BATCH } from '../../kernels/engine.ts';
import { gpuBackend } from '../../kernels/gpu-backend.ts';
import { openEngine } from '../../platform/node/engine.ts';
import { numberOption, parseOptions, type Command } from '../command.ts';
import { defaultOcclusion, occlusion, saliency } from '../explain.ts';
import { MODEL_CHOICES } from '../model-choice.ts';
import { checkInput, FLOAT32_DIGITS, imageInputShape, loadScoring, probabilityColumns, scoringChoices, scoringModel } from '../scoring.ts';

/** Screen pixels per cutout pixel, and between the cutout and its map. */
const ZOOM = 4;
const GAP = 4;
const METHODS = ['saliency', 'occlusion'] as const;
type Method = (typeof METHODS)[number];

const help = `handscan explain: where the network looks, as PNGs of each cutout beside its map

usage: tsx src/train/main.ts explain --weights FILE --data PATH --out DIR [options]

options:
  --weights FILE          a Handscan checkpoint or a Keras 2 HDF5 file, as for predict
  --data PATH             ${ACCEPTED_DATA}
  --out DIR               where to write the PNGs and index.json (made if missing)
  --ids a,b,c             the cutouts to explain, by id (predict's id column)
  --first N               else the first N cutouts [8]
  --method M              saliency, occlusion or both [both]
  --patch N               occlusion: the side of the square patch, in pixels [9 for 69×69 cutouts,
                          about an eighth of the side]
  --stride N              occlusion: pixels from one patch position to the next [a third of the patch]
  --preprocess NAME       ${NETWORK_STEPS.join(', ')}: how pixels become the network's input
                          [the checkpoint's own, else scale255]
  --model NAME|FILE.json  the architecture when the file has no model_config: ${MODEL_CHOICES} [initial]
  --batch-size N          images per GPU batch [${DEFAULT_INFERENCE_BATCH}]

The score explained is p_real for a one-unit sigmoid model, else the probability of the
cutout's predicted class (the network's own, without a stored temperature).
saliency: the gradient of the score with respect to each pixel of the network's input; the map
  is the largest |gradient| over a pixel's channels, black (0) to white (the cutout's largest).
occlusion: the drop in the score when a square patch of the input is set to 0, at every position
  of a sliding window, each pixel averaged over the patches that cover it; red where hiding the
  pixels lowers the score, blue where it raises it, white for no change.
Each PNG, NNN-<id>-<method>.png, is the cutout (uint8 pixels as stored, float ones through
zscale) and its map side by side, each magnified ${ZOOM}× with nearest-neighbour pixels, ${GAP} pixels
apart. index.json lists them with the class, the score and the map's largest magnitude.`;

async function run(argv: string[]): Promise<void> {
  const { values } = parseOptions('explain', argv, {
    weights: { type: 'string' },
    data: { type: 'string' },
    out: { type: 'string' },
    ids: { type: 'string' },
    first: { type: 'string' },
    method: { type: 'string' },
    patch: { type: 'string' },
    stride: { type: 'string' },
    preprocess: { type: 'string' },
    model: { type: 'string' },
    'batch-size': { type: 'string' },
  });
  for (const required of ['weights', 'data', 'out'] as const) {
    if (!values[required]) throw new UsageError(`explain: --${required} is required (see \`handscan explain --help\`)`);
  }
  const method = values.method ?? 'both';
  if (method !== 'both' && !(METHODS as readonly string[]).includes(method)) throw new UsageError(`explain: --method must be saliency, occlusion or both, got '${method}'`);
  const methods = method === 'both' ? METHODS : [method as Method];
  if (values.ids !== undefined && values.first !== undefined) throw new UsageError('explain: give --ids or --first, not both');
  const ids = values.ids?.split(',').map((id) => id.trim());
  if (ids?.some((id) => id === '')) throw new UsageError(`explain: --ids must be ids separated by commas, got '${values.ids}'`);
  const first = numberOption('explain', 'first', values.first, 8, (v) => Number.isInteger(v) && v >= 1, 'a whole number ≥ 1');
  const whole = (v: number) => Number.isInteger(v) && v >= 1;
  const patch = values.patch === undefined ? undefined : numberOption('explain', 'patch', values.patch, 0, whole, 'a whole number of pixels ≥ 1');
  const stride = values.stride === undefined ? undefined : numberOption('explain', 'stride', values.stride, 0, whole, 'a whole number of pixels ≥ 1');
  const batchSize = numberOption('explain', 'batch-size', values['batch-size'], DEFAULT_INFERENCE_BATCH, (v) => Number.isInteger(v) && v > 0 && v <= 4096, 'an integer in 1..4096');
  const choices = scoringChoices('explain', values);
  checkOutputFolder('explain', 'out', values.out!);
  const scoring = await loadScoring(values.weights!, choices);
  const dataset = await loadDataset(values.data!, { preprocess: scoring.step, onSkipped: (id, reason) => console.error(`skipped packet ${id}: ${reason}`) });
  const indices = ids ? indicesOf(dataset, ids) : Uint32Array.from({ length: Math.min(first, sampleCount(dataset)) }, (_, i) => i);
  const [height, width] = dataset.shape;
  if (patch !== undefined && patch > Math.min(height, width)) throw new UsageError(`explain: --patch ${patch} is larger than the ${describeShape(dataset.shape)} cutouts`);
  const occluding = { ...defaultOcclusion(dataset.shape), ...(patch === undefined ? {} : { patch }), ...(stride === undefined ? {} : { stride }) };

  const g = await openEngine({ inferenceBatch: batchSize });
  try {
    const net = scoringModel(scoring, gpuBackend(g), dataset.shape);
    checkInput(values.weights!, imageInputShape(values.weights!, net.graph), dataset, scoring.step);
    const { names } = probabilityColumns(net.classes);
    console.log(`WebGPU adapter: ${g.info.name}; explaining ${indices.length} cutouts from ${dataset.source} by ${methods.join(' and ')} (preprocessing ${scoring.step})`);
    mkdirSync(values.out!, { recursive: true });
    const digits = String(indices.length).length;
    const explained: object[] = [];
    for (const m of methods) {
      const t0 = performance.now();
      const result = m === 'saliency' ? await saliency(net, dataset, { indices }) : await occlusion(net, dataset, { indices, ...occluding });
      const pixels = height * width;
      for (let i = 0; i < indices.length; i++) {
        const id = dataset.ids[indices[i]];
        const map = result.maps.subarray(i * pixels, (i + 1) * pixels);
        const file = `${String(i + 1).padStart(digits, '0')}-${id.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80)}-${m}.png`;
        const largest = map.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
        await writeFileAtomic(join(values.out!, file), explanationPng(dataset, indices[i], map, m === 'saliency' ? hot : diverging, largest));
        explained.push({ file, id, method: m, class: names[result.classes[i]], score: Number(result.scores[i].toPrecision(FLOAT32_DIGITS)), mapMax: Number(largest.toPrecision(FLOAT32_DIGITS)) });
      }
      console.log(`${m}: ${indices.length} cutouts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const index = { weights: values.weights, data: dataset.source, preprocess: scoring.step, ...(methods.includes('occlusion') ? occluding : {}), explained };
    await writeFileAtomic(join(values.out!, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
    console.log(`wrote ${explained.length} PNGs and index.json to ${values.out}`);
  } finally {
    g.destroy();
  }
}

/** The samples of `ids`, in that order; an id the data do not have is an error naming it. */
function indicesOf(dataset: Dataset, ids: readonly string[]): Uint32Array {
  const where = new Map<string, number>();
  dataset.ids.forEach((id, i) => where.has(id) || where.set(id, i));
  return Uint32Array.from(ids, (id) => where.get(id) ?? fail(`explain: --ids: ${dataset.source} has no cutout '${id}'`));
}

function fail(why: string): never {
  throw new InputError(why);
}

type Colour = (t: number) => [number, number, number];
const unit = (v: number) => Math.min(1, Math.max(0, v));
/** 0 → black, through red and yellow, 1 → white. */
const hot: Colour = (t) => [unit(3 * t), unit(3 * t - 1), unit(3 * t - 2)];
/** −1 → blue, 0 → white, 1 → red. */
const diverging: Colour = (t) => (t >= 0 ? [1, 1 - t, 1 - t] : [1 + t, 1 + t, 1]);

/** The cutout and its map (divided by `largest`, then coloured) side by side, magnified ZOOM×. */
function explanationPng(dataset: Dataset, index: number, map: Float32Array, colour: Colour, largest: number): Buffer {
  const [rows, cols, channels] = dataset.shape;
  const side = cols * ZOOM;
  const png = new PNG({ width: 2 * side + GAP, height: rows * ZOOM });
  const cutout = displayPixels(dataset, index, 'zscale');
  // Channels 0-2 as red, green, blue; one channel as grey (as the contact sheet draws them).
  const from = channels === 1 ? [0, 0, 0] : [0, 1, channels > 2 ? 2 : -1];
  for (let p = 0; p < png.width * png.height; p++) png.data.set([24, 24, 24, 255], p * 4);
  for (let y = 0; y < png.height; y++) {
    const r = Math.floor(y / ZOOM);
    for (let x = 0; x < side; x++) {
      const c = Math.floor(x / ZOOM);
      const left = (y * png.width + x) * 4;
      const right = left + (side + GAP) * 4;
      const shade = colour(largest > 0 ? map[r * cols + c] / largest : 0);
      for (let k = 0; k < 3; k++) {
        png.data[left + k] = from[k] < 0 ? 0 : cutout[(r * cols + c) * channels + from[k]];
        png.data[right + k] = Math.round(255 * shade[k]);
      }
    }
  }
  return PNG.sync.write(png);
}

const command: Command = { name: 'explain', help, run };
export default command;
