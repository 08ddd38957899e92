// A sub-command of `handscan` (src/train/main.ts): one file each in commands/.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.ts';

export interface Command {
  name: string;
  /** Full help text (usage, options with defaults, examples). */
  help: string;
  run(argv: string[]): Promise<void>;
}

/**
 * node:util parseArgs in strict mode, with its errors turned into one-line
 * UsageErrors that name the command.
 */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(command: string, argv: string[], options: T) {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options, strict: true, allowPositionals: false });
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message.split('\n')[0]} (see \`handscan ${command} --help\`)`);
  }
}

/**
 * `--epochs -1` becomes `--epochs=-1`: parseArgs would read `-1` as an option
 * ("argument is ambiguous"), and the range check then says what is valid.
 */
function joinNegativeValues(argv: string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : null;
    if (name !== null && options[name]?.type === 'string' && /^-\d|^-\.\d/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

/** Parses a numeric option, with a range check. */
export function numberOption(command: string, name: string, value: string | undefined, fallback: number, check: (v: number) => boolean = Number.isFinite, expected = 'a number'): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v) || !check(v)) {
    throw new UsageError(`${command}: --${name} must be ${expected}, got '${value}'`);
  }
  return v;
}
