// `handscan scan`: the hand-scanning page's local server (src/scan/): the
// candidates of --data, scored by --weights, labelled into a JSON-lines file
// that is fsynced before each label is answered "saved".
import { basename, extname } from 'node:path';
import { ACCEPTED_DATA } from '../../data/load.ts';
import { isLabelScheme } from '../../data/labels.ts';
import { NETWORK_STEPS } from '../../data/samples.ts';
import { ScanLabelsFile } from '../../data/scan-labels.ts';
import { UsageError } from '../../errors.ts';
import { BODY_LIMIT, startScanServer } from '../../scan/server.ts';
import { ScanSession } from '../../scan/session.ts';
import { numberOption, parseOptions, type Command } from '../command.ts';
import { MODEL_CHOICES } from '../model-choice.ts';
import { scoringChoices } from '../scoring.ts';

const DEFAULT_PORT = 8765;

const help = `handscan scan: hand-scan candidates in the browser, with the model scoring them there

usage: tsx src/train/main.ts scan --data PATH --weights FILE [options]

options:
  --data PATH             ${ACCEPTED_DATA}
  --weights FILE          a Handscan checkpoint (runs/<run>/best.h5) or a Keras 2 HDF5 file, as for predict
  --labels FILE.jsonl     the labels file: one JSON line per label given (id, label, scheme, time,
                          score, client, seq), the latest line per id wins [<data's name>.labels.jsonl]
  --scheme NAME           binary (r real, b bogus), visual or original (keys 1-9): what a label says
                          [the model's: binary for 1 or 2 outputs, visual for 3, original for 10]
  --threshold T           the operating threshold the page starts at [0.5]
  --port N                the port (0: any free one) [${DEFAULT_PORT}]
  --host ADDR             listen on ADDR instead of 127.0.0.1 (0.0.0.0: every interface); needs --token
  --token T               every request must carry it: 'Authorization: Bearer T' or ?token=T
  --preprocess NAME       ${NETWORK_STEPS.join(', ')}: how pixels become the network's input
                          [the checkpoint's own, else scale255]
  --model NAME|FILE.json  the architecture when the file has no model_config: ${MODEL_CHOICES} [initial]

It prints the page's address and serves until SIGINT (Ctrl-C) or SIGTERM. The page scores the
candidates with WebGPU in the browser (the server scores them when the browser cannot), and
sends each label, which the server appends to the labels file and fsyncs before it answers: a
killed server or a closed tab loses nothing the page showed as saved. Request bodies are at
most ${BODY_LIMIT / 1024} KiB. The page's retrain runs \`handscan train --init-weights <the current weights>
--labels <the labels file> --data <data> --out runs/scan-<time>\` and switches to its best.h5.

examples:
  tsx src/train/main.ts scan --data data/sdss-sim.hdf5 --weights runs/initial-binary-seed1/best.h5
  tsx src/train/main.ts scan --data 'night/*.avro' --weights braai.h5 --host 0.0.0.0 --token "$(openssl rand -hex 16)"`;

/** `<data's name>.labels.jsonl` in the working folder: the data's last path part, without extension or glob characters. */
export function defaultLabelsFile(data: string): string {
  const name = basename(data.replace(/[\\/]+$/, ''));
  const stem = name.slice(0, name.length - extname(name).length) || name;
  return `${stem.replace(/[*?[\]]/g, '_') || 'scan'}.labels.jsonl`;
}

async function run(argv: string[]): Promise<void> {
  const { values } = parseOptions('scan', argv, {
    data: { type: 'string' },
    weights: { type: 'string' },
    labels: { type: 'string' },
    scheme: { type: 'string' },
    threshold: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    token: { type: 'string' },
    preprocess: { type: 'string' },
    model: { type: 'string' },
  });
  for (const required of ['data', 'weights'] as const) {
    if (!values[required]) throw new UsageError(`scan: --${required} is required (see \`handscan scan --help\`)`);
  }
  if (values.host !== undefined && !values.token) throw new UsageError('scan: --host exposes the server beyond this machine, so it needs --token T too (every request must then carry T)');
  if (values.token === '') throw new UsageError('scan: --token must not be empty');
  if (values.scheme !== undefined && !isLabelScheme(values.scheme)) throw new UsageError(`scan: --scheme must be binary, visual or original, got '${values.scheme}'`);
  const threshold = numberOption('scan', 'threshold', values.threshold, 0.5, (v) => v >= 0 && v <= 1, 'a probability in [0, 1]');
  const port = numberOption('scan', 'port', values.port, DEFAULT_PORT, (v) => Number.isInteger(v) && v >= 0 && v <= 65_535, 'an integer in 0..65535');
  const choices = scoringChoices('scan', values);
  // The labels file is read first: a corrupt one stops the scan before the data are.
  const labels = ScanLabelsFile.open(values.labels ?? defaultLabelsFile(values.data!));
  const session = await ScanSession.open(values.data!, values.weights!, choices, values.scheme ?? null, threshold);
  const server = await startScanServer({ session, labels, host: values.host ?? '127.0.0.1', port, token: values.token ?? null, preprocess: values.preprocess ?? null });
  const saved = labels.latest().length;
  console.log(`scanning ${session.count} candidates at ${server.url}`);
  console.log(`labels: ${labels.path} (${saved} candidate${saved === 1 ? '' : 's'} labelled); scheme ${session.scheme}; model ${session.model.weights}`);
  // A wrapper (npx) forwards the terminal's Ctrl-C that the process gets too: every signal just asks for a stop.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log(`stopping (${signal}): finishing the label writes and scoring in hand`);
  await server.close();
}

const command: Command = { name: 'scan', help, run };
export default command;
