// `handscan show`: a contact sheet of any dataset, to see what it holds.
import { writeContactSheet } from '../../data/contact-sheet.ts';
import { describeCounts } from '../../data/dataset.ts';
import { defaultSurvey } from '../../data/default-survey.ts';
import { loadDataset } from '../../data/load.ts';
import { numberOption, parseOptions, type Command } from '../command.ts';
import { UsageError } from '../../errors.ts';
import { checkOutputFile } from '../../io/output-path.ts';

const help = `handscan show: a contact sheet of a dataset, random cutouts of each class in a labelled grid

usage: tsx src/train/main.ts show --out FILE.png [options]

options:
  --out FILE.png      where to write the PNG
  --data PATH         an sdss.hdf5 file or a folder of PNG cutouts (one sub-folder per class)
                      [the built-in simulated survey, made on first use]
  --per-class N       cutouts shown per class [8]
  --seed S            which cutouts are picked [0]
  --zoom Z            screen pixels per cutout pixel [2]
  --resize            resample square PNG cutouts of other sizes to 69×69 (otherwise rejected)

example:
  tsx src/train/main.ts show --data sdss.hdf5 --out sdss.png --per-class 10`;

async function run(argv: string[]): Promise<void> {
  const { values } = parseOptions('show', argv, {
    out: { type: 'string' },
    data: { type: 'string' },
    'per-class': { type: 'string' },
    seed: { type: 'string' },
    zoom: { type: 'string' },
    resize: { type: 'boolean' },
  });
  if (!values.out) throw new UsageError('show: --out FILE.png is required (see `handscan show --help`)');
  const perClass = numberOption('show', 'per-class', values['per-class'], 8, (v) => Number.isInteger(v) && v >= 1 && v <= 50, 'a whole number in 1..50');
  const seed = numberOption('show', 'seed', values.seed, 0, (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32, 'a whole number in 0..4294967295');
  const zoom = numberOption('show', 'zoom', values.zoom, 2, (v) => Number.isInteger(v) && v >= 1 && v <= 8, 'a whole number in 1..8');
  checkOutputFile('show', 'out', values.out);
  const dataset = await loadDataset(values.data ?? (await defaultSurvey()), { resize: values.resize });
  await writeContactSheet(values.out, dataset, { perClass, seed, zoom });
  console.log(`${dataset.source}: ${dataset.labels.length.toLocaleString('en-US')} cutouts (${describeCounts(dataset.labels, dataset.scheme)})`);
  console.log(`contact sheet: ${values.out}`);
}

const command: Command = { name: 'show', help, run };
export default command;
