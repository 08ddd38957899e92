#!/usr/bin/env tsx
// handscan: train, evaluate and run the SDSS-II hand-scanning CNNs on WebGPU.
import { pathToFileURL } from 'node:url';
import type { Command } from './command.ts';
import { DeviceError, NoAdapterError } from '../kernels/engine.ts';
import { InputError, UsageError } from '../errors.ts';

/** Sub-commands load lazily, so `--help` never opens the GPU or reads data; their one-line summaries live here. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  train: { summary: "train a network with the paper's protocol, validate each epoch, report on the test set", load: async () => (await import('./commands/train.ts')).default },
  evaluate: { summary: 'evaluate a checkpoint on a run\'s test split or on any labelled data', load: async () => (await import('./commands/evaluate.ts')).default },
  predict: { summary: 'score cutouts with a checkpoint and write a CSV', load: async () => (await import('./commands/predict.ts')).default },
  scan: { summary: 'hand-scan candidates in the browser: a local server for the scanning page and its labels file', load: async () => (await import('./commands/scan.ts')).default },
  explain: { summary: 'write PNG maps of where the network looks in each cutout: gradient saliency and occlusion', load: async () => (await import('./commands/explain.ts')).default },
  export: { summary: 'write a checkpoint as an ONNX model, for ONNX Runtime and the brokers that run it', load: async () => (await import('./commands/export.ts')).default },
  simulate: { summary: 'make a simulated SDSS-II survey in the sdss.hdf5 layout (the built-in default data)', load: async () => (await import('./commands/simulate.ts')).default },
  show: { summary: 'write a contact sheet (PNG) of random cutouts per class of a dataset', load: async () => (await import('./commands/show.ts')).default },
  preprocess: { summary: 'describe the named preprocessing steps (network inputs and display stretches): --list', load: async () => (await import('./commands/preprocess.ts')).default },
  serve: { summary: 'score alert packets from a Redis stream as one consumer of a group, writing results to a stream and a hash', load: async () => (await import('./commands/serve.ts')).default },
  replay: { summary: 'push alert packets from files into a Redis stream, at a target rate', load: async () => (await import('./commands/replay.ts')).default },
};

function usage(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(0, ...names.map((n) => n.length));
  return [
    'handscan: real-or-bogus classification of SDSS-II supernova survey cutouts on WebGPU',
    '',
    'usage: tsx src/train/main.ts <command> [options]     (also: npm start, npx handscan)',
    '',
    'commands:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n].summary}`),
    '',
    'Run `tsx src/train/main.ts <command> --help` for the options of one command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (!entry) throw new UsageError(`unknown command '${name}': expected one of ${Object.keys(COMMANDS).join(', ')}`);
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  await command.run(rest);
  return 0;
}

/** Runs the command line, turning user errors into one line and an exit code. */
export async function cli(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    if (e instanceof UsageError || e instanceof InputError) {
      console.error(`handscan: ${e.message}`);
      process.exitCode = e.exitCode;
    } else if (e instanceof NoAdapterError || e instanceof DeviceError) {
      console.error(`handscan: ${e.message}`);
      process.exitCode = 1;
    } else {
      console.error(e);
      process.exitCode = 1;
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await cli(process.argv.slice(2));
