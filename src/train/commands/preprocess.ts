// `handscan preprocess --list`: the named preprocessing steps of
// src/data/preprocess.ts, each with its paragraph.
import { PREPROCESS_STEPS, type PreprocessStep } from '../../data/preprocess.ts';
import { parseOptions, type Command } from '../command.ts';
import { UsageError } from '../../errors.ts';

const help = `handscan preprocess: the named preprocessing steps, what goes in and what comes out of each

usage: tsx src/train/main.ts preprocess --list

Network inputs turn a cutout or a triplet into what a model was trained on:
  ${names('network')}
Display stretches make pictures for people and are never fed to a network:
  ${names('display')}

options:
  --list              print every step's name, kind and description

example:
  tsx src/train/main.ts preprocess --list`;

function names(kind: PreprocessStep['kind']): string {
  return Object.values(PREPROCESS_STEPS)
    .filter((s) => s.kind === kind)
    .map((s) => s.name)
    .join(', ');
}

/** Words of `text` in lines of at most `width` characters, each indented by `indent`. */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

/** The listing `--list` prints: one block per step, separated by blank lines. */
export function listSteps(width = 80): string {
  const kinds = { network: 'network input', display: 'display stretch, for people' } as const;
  return Object.values(PREPROCESS_STEPS)
    .map((s) => [`${s.name} (${kinds[s.kind]})`, ...wrap(s.describe, width, '  ')].join('\n'))
    .join('\n\n');
}

async function run(argv: string[]): Promise<void> {
  const { values } = parseOptions('preprocess', argv, { list: { type: 'boolean' } });
  if (!values.list) throw new UsageError('preprocess: nothing to do: pass --list to describe the steps (see `handscan preprocess --help`)');
  console.log(listSteps());
}

const command: Command = { name: 'preprocess', help, run };
export default command;
