// `handscan simulate`: a simulated SDSS-II survey in the sdss.hdf5 layout.
import { describeCounts } from '../../data/dataset.ts';
import { writeContactSheet } from '../../data/contact-sheet.ts';
import { DEFAULT_SEED } from '../../data/default-survey.ts';
import { writeSdssHdf5 } from '../../data/hdf5.ts';
import { ORIGINAL_CLASSES } from '../../data/labels.ts';
import { DEFAULT_DIFFICULTY, PAPER_COUNTS, PAPER_SAMPLES, scaleCounts, SIMULATOR_VERSION, simulateSurvey } from '../../data/simulator/survey.ts';
import { numberOption, parseOptions, type Command } from '../command.ts';
import { UsageError } from '../../errors.ts';
import { checkOutputFile } from '../../io/output-path.ts';

/** h5wasm holds the whole images dataset in its 2 GiB WebAssembly heap while writing. */
const MOST_SAMPLES = 100_000;

const help = `handscan simulate: a simulated SDSS-II supernova survey, in the sdss.hdf5 layout

usage: tsx src/train/main.ts simulate --out FILE.hdf5 [options]

Each cutout is a 69×69 g, r, i colour composite (asinh stretch, as SDSS's images) around a
candidate: sky and photon noise at SDSS's depth, a double-Gaussian PSF with power-law wings in
seeing around 1.4", field stars and Sérsic galaxies, and the candidate drawn as its class
looks (see src/data/simulator/). The file is written atomically: a failed run leaves nothing.

options:
  --out FILE.hdf5     where to write the survey
  --n N               number of cutouts [${PAPER_SAMPLES}, the paper's; at most ${MOST_SAMPLES}]
  --seed S            an integer; the same seed and options give the same bytes [${DEFAULT_SEED}]
  --difficulty D      0 (bright, clean candidates) to 1 (candidates down to signal-to-noise 2,
                      artefacts as wide as the PSF) [${DEFAULT_DIFFICULTY}: down to signal-to-noise 5]
  --counts LIST       cutouts per class: 'paper' (the notebook's class counts, about 88% real,
                      scaled to --n), 'balanced' (equal), or ten comma-separated integers in class
                      order (${ORIGINAL_CLASSES.join(', ')}),
                      whose sum is then the number of cutouts [paper]
  --sheet FILE.png    also write a contact sheet: random cutouts of each class, labelled

examples:
  tsx src/train/main.ts simulate --out data/sdss-sim.hdf5 --sheet data/sdss-sim.png
  tsx src/train/main.ts simulate --out small.hdf5 --n 1000 --counts balanced --seed 7`;

/** Fails early, before a minute of simulation, when an output path cannot be written. */
function parseCounts(value: string | undefined, n: number | undefined): number[] {
  const samples = n ?? PAPER_SAMPLES;
  if (value === undefined || value === 'paper') return scaleCounts(PAPER_COUNTS, samples);
  if (value === 'balanced') return scaleCounts(new Array(ORIGINAL_CLASSES.length).fill(1), samples);
  const counts = value.split(',').map((v) => (/^\s*\d+\s*$/.test(v) ? Number(v) : NaN));
  if (counts.length !== ORIGINAL_CLASSES.length || counts.some((c) => !Number.isSafeInteger(c))) {
    throw new UsageError(`simulate: --counts must be 'paper', 'balanced' or ${ORIGINAL_CLASSES.length} comma-separated whole numbers, got '${value}'`);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  if (n !== undefined && n !== total) throw new UsageError(`simulate: --counts adds up to ${total} but --n is ${n}; give one or make them agree`);
  if (total < 1 || total > MOST_SAMPLES) throw new UsageError(`simulate: --counts must add up to 1..${MOST_SAMPLES} cutouts, got ${total}`);
  return counts;
}

async function run(argv: string[]): Promise<void> {
  const { values } = parseOptions('simulate', argv, {
    out: { type: 'string' },
    n: { type: 'string' },
    seed: { type: 'string' },
    difficulty: { type: 'string' },
    counts: { type: 'string' },
    sheet: { type: 'string' },
  });
  if (!values.out) throw new UsageError('simulate: --out FILE.hdf5 is required (see `handscan simulate --help`)');
  const n = values.n === undefined ? undefined : numberOption('simulate', 'n', values.n, PAPER_SAMPLES, (v) => Number.isInteger(v) && v >= 1 && v <= MOST_SAMPLES, `a whole number in 1..${MOST_SAMPLES}`);
  const seed = numberOption('simulate', 'seed', values.seed, DEFAULT_SEED, (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32, 'a whole number in 0..4294967295');
  const difficulty = numberOption('simulate', 'difficulty', values.difficulty, DEFAULT_DIFFICULTY, (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
  const counts = parseCounts(values.counts, n);
  checkOutputFile('simulate', 'out', values.out);
  if (values.sheet) checkOutputFile('simulate', 'sheet', values.sheet);

  const start = performance.now();
  const total = counts.reduce((a, b) => a + b, 0);
  const survey = simulateSurvey({ seed, counts, difficulty }, (done) => {
    if (done % 5000 === 0) console.log(`  ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} cutouts`);
  });
  const simulated = (performance.now() - start) / 1000;
  await writeSdssHdf5(values.out, survey, { simulator: `handscan v${SIMULATOR_VERSION}`, seed, difficulty });
  console.log(`wrote ${values.out}: ${total.toLocaleString('en-US')} cutouts (seed ${seed}, difficulty ${difficulty}) in ${simulated.toFixed(1)} s`);
  console.log(`classes: ${describeCounts(survey.labels, 'original')}`);
  if (values.sheet) {
    await writeContactSheet(values.sheet, { ...survey, source: `${values.out}: simulated survey, seed ${seed}, difficulty ${difficulty}` }, { seed });
    console.log(`contact sheet: ${values.sheet}`);
  }
}

const command: Command = { name: 'simulate', help, run };
export default command;
