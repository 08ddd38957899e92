// Output paths are checked before any work starts, so that a long run never
// ends in an error about where its result should have gone.
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.ts';

/** What is at `path`, or undefined: a path through a file (ENOTDIR) holds nothing either. */
function statOf(path: string) {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}
const isDirectory = (path: string) => statOf(path)?.isDirectory() ?? false;

function assertWritableFolder(what: string, folder: string): void {
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new InputError(`${what}: folder ${folder} is not writable`);
  }
}

/** `--option path` names a file that can be written: its folder exists and is writable, and it is not a folder. */
export function checkOutputFile(command: string, option: string, path: string): void {
  const what = `${command}: --${option} ${path}`;
  const folder = dirname(resolve(path));
  if (!isDirectory(folder)) throw new InputError(`${what}: folder ${dirname(path)} does not exist`);
  if (isDirectory(path)) throw new InputError(`${what} is a folder; expected a file name`);
  assertWritableFolder(what, folder);
}

/** `--option path` names a folder that exists and is writable, or can be made inside the nearest one that does. */
export function checkOutputFolder(command: string, option: string, path: string): void {
  const what = `${command}: --${option} ${path}`;
  let existing = resolve(path);
  while (!statOf(existing)) existing = dirname(existing);
  if (!isDirectory(existing)) throw new InputError(`${what}: ${existing} is a file; expected a folder`);
  assertWritableFolder(what, existing);
}
