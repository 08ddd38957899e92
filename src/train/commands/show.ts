// `handscan show`: a contact sheet of any dataset, to see what it holds.
import { DISPLAY_STRETCHES, writeContactSheet } from '../../data/contact-sheet.ts';
import { describeCounts, describeShape, pixelType } from '../../data/dataset.ts';
import { defaultSurvey } from '../../data/default-survey.ts';
import { loadDataset } from '../../data/load.ts';
import { NETWORK_STEPS } from '../../data/samples.ts';
import { numberOption, parseOptions, type Command } from '../command.ts';
import { UsageError } from '../../errors.ts';
import { checkOutputFile } from '../../io/output-path.ts';

const help = `handscan show: a contact sheet of a dataset, random cutouts of each class in a labelled grid

usage: tsx src/train/main.ts show --out FILE.png [options]

options:
  --out FILE.png      where to write the PNG
  --data PATH         an HDF5 file in the sdss.hdf5 layout, a folder of class sub-folders (PNG,
                      FITS or .avro cutouts), an .avro alert file, a folder of them, or a quoted
                      glob of them ('alerts/*.avro') [the built-in simulated survey, made on first use]
  --preprocess STEP   the step from the data's pixels to a network's input: ${NETWORK_STEPS.join(', ')}
                      (see \`handscan preprocess --list\`) [scale255]
  --stretch S         how float cutouts are drawn: ${DISPLAY_STRETCHES.join(', ')} [zscale]
  --per-class N       cutouts shown per class [8]
  --seed S            which cutouts are picked [0]
  --zoom Z            screen pixels per cutout pixel [2]
  --resize            resample square PNG cutouts to 69×69 (otherwise all must have one size)

Alert packets that cannot be used (a missing or corrupt cutout, a step that refuses them) are
skipped, each named on stderr, and counted.

examples:
  tsx src/train/main.ts show --data sdss.hdf5 --out sdss.png --per-class 10
  tsx src/train/main.ts show --data 'alerts/*.avro' --preprocess braai --out alerts.png`;

async function run(argv: string[]): Promise<void> {
  const { values } = parseOptions('show', argv, {
    out: { type: 'string' },
    data: { type: 'string' },
    'per-class': { type: 'string' },
    seed: { type: 'string' },
    zoom: { type: 'string' },
    resize: { type: 'boolean' },
    preprocess: { type: 'string' },
    stretch: { type: 'string' },
  });
  if (!values.out) throw new UsageError('show: --out FILE.png is required (see `handscan show --help`)');
  const perClass = numberOption('show', 'per-class', values['per-class'], 8, (v) => Number.isInteger(v) && v >= 1 && v <= 50, 'a whole number in 1..50');
  const seed = numberOption('show', 'seed', values.seed, 0, (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32, 'a whole number in 0..4294967295');
  const zoom = numberOption('show', 'zoom', values.zoom, 2, (v) => Number.isInteger(v) && v >= 1 && v <= 8, 'a whole number in 1..8');
  const preprocess = choice('preprocess', values.preprocess, NETWORK_STEPS, 'scale255');
  const stretch = choice('stretch', values.stretch, DISPLAY_STRETCHES, 'zscale');
  checkOutputFile('show', 'out', values.out);
  const dataset = await loadDataset(values.data ?? (await defaultSurvey()), {
    resize: values.resize,
    preprocess,
    onSkipped: (_, reason) => console.warn(`skipped: ${reason}`),
  });
  await writeContactSheet(values.out, dataset, { perClass, seed, zoom, stretch });
  const described = `${describeShape(dataset.shape)} ${pixelType(dataset)}, preprocess ${dataset.preprocess}`;
  console.log(`${dataset.source}: ${dataset.labels.length.toLocaleString('en-US')} cutouts (${describeCounts(dataset.labels, dataset.scheme)}); ${described}`);
  if (dataset.skipped !== undefined && dataset.skipped.length > 0) {
    console.log(`skipped ${dataset.skipped.length.toLocaleString('en-US')} alert packet${dataset.skipped.length > 1 ? 's' : ''} that could not be used`);
  }
  console.log(`contact sheet: ${values.out}`);
}

/** A string option that must be one of `allowed`. */
function choice<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`show: --${name} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

const command: Command = { name: 'show', help, run };
export default command;
