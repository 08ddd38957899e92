// A simulated SDSS-II hand-scanning survey in the sdss.hdf5 layout: the
// built-in default data of Handscan, since the paper's file is not public.
//
// Knobs:
// - seed: the same seed gives the same bytes. Each cutout draws from its
//   own random stream (seed, index), so cutouts do not depend on each other.
// - counts: cutouts per original class. By default the paper's class counts
//   (read off the notebook's bar chart: about 88% real) scaled to n.
// - difficulty (0-1, default 0.5): 0 gives bright, clean candidates; 0.5,
//   candidates down to signal-to-noise 5 in r and artefacts that can pass
//   for point sources; 1, down to signal-to-noise 2 (see classes.ts).
import { checkDataset, type Dataset, type SampleShape } from '../dataset.ts';
import { ORIGINAL_CLASSES } from '../labels.ts';
import { Random } from '../random.ts';
import { CLASS_SCENES } from './classes.ts';
import { composite } from './composite.ts';
import { saturate } from './detector.ts';
import { CHANNELS, Scene, SIZE } from './render.ts';
import { addNoise, drawConditions } from './sky.ts';

/**
 * The notebook's class counts (REFERENCE.md), in class order. SN Gold is "a
 * handful": 15, which makes the total the paper's 21,785.
 */
export const PAPER_COUNTS: readonly number[] = [530, 900, 1120, 7000, 3450, 350, 6300, 590, 1530, 15];
export const PAPER_SAMPLES = 21_785;

/** The survey's cutouts: uint8 69×69 RGB composites (red, green, blue = i, r, g), preprocessed by 'scale255' per batch. */
export const CUTOUT_SIZE = SIZE;
export { CHANNELS };
export const CUTOUT_SHAPE: SampleShape = [CUTOUT_SIZE, CUTOUT_SIZE, CHANNELS];
export const VALUES_PER_IMAGE = CUTOUT_SIZE * CUTOUT_SIZE * CHANNELS;
export const DEFAULT_DIFFICULTY = 0.5;

/** Bumped whenever a change alters the simulator's output, so cached surveys are rebuilt. */
export const SIMULATOR_VERSION = 1;

export interface SurveyOptions {
  seed: number;
  /** Cutouts per original class (10 numbers). */
  counts: readonly number[];
  difficulty: number;
}

/** Splits n into whole counts in proportion to `proportions` (largest remainders; ties to the lower class). */
export function scaleCounts(proportions: readonly number[], n: number): number[] {
  const total = proportions.reduce((a, b) => a + b, 0);
  const quotas = proportions.map((p) => (p * n) / total);
  const counts = quotas.map(Math.floor);
  const order = quotas.map((_, c) => c).sort((a, b) => quotas[b] - counts[b] - (quotas[a] - counts[a]) || a - b);
  const left = n - counts.reduce((a, b) => a + b, 0);
  for (let k = 0; k < left; k++) counts[order[k]]++;
  return counts;
}

/** The class of each cutout, in a seeded random order. */
function classOrder(counts: readonly number[], seed: number): Uint8Array {
  const classes = new Uint8Array(counts.reduce((a, b) => a + b, 0));
  let i = 0;
  counts.forEach((count, c) => {
    classes.fill(c, i, i + count);
    i += count;
  });
  return new Random(seed, 0).shuffle(classes);
}

/** Draws cutout `index` (of class `cls`) into `out` at `offset`, using `scene` as scratch. */
export function simulateCutout(scene: Scene, cls: number, options: SurveyOptions, index: number, out: Uint8Array, offset: number): void {
  const random = new Random(options.seed, 2 * index + 1);
  scene.clear();
  const conditions = drawConditions(random);
  CLASS_SCENES[cls]({ scene, conditions, random, difficulty: options.difficulty });
  addNoise(scene, conditions, random);
  saturate(scene);
  composite(scene, out, offset);
}

/** Simulates a whole survey; `progress(done, total)` is called every 1,000 cutouts. */
export function simulateSurvey(options: SurveyOptions, progress?: (done: number, total: number) => void): Dataset {
  if (options.counts.length !== ORIGINAL_CLASSES.length) throw new RangeError(`simulateSurvey: ${options.counts.length} class counts, expected ${ORIGINAL_CLASSES.length}`);
  const labels = classOrder(options.counts, options.seed);
  const n = labels.length;
  const images = new Uint8Array(n * VALUES_PER_IMAGE);
  const scene = new Scene();
  for (let i = 0; i < n; i++) {
    simulateCutout(scene, labels[i], options, i, images, i * VALUES_PER_IMAGE);
    if (progress && (i + 1) % 1000 === 0) progress(i + 1, n);
  }
  const ids = Array.from({ length: n }, (_, i) => String(i));
  const source = `simulated survey (seed ${options.seed}, difficulty ${options.difficulty}, ${n}×${CUTOUT_SIZE}×${CUTOUT_SIZE}×${CHANNELS})`;
  return checkDataset({ shape: CUTOUT_SHAPE, images, preprocess: 'scale255', labels, scheme: 'original', ids, source });
}
