// One entry point for every kind of data a user can point --data at:
// - an HDF5 file (.hdf5, .h5, or any file with HDF5's signature) in the
//   sdss.hdf5 layout (sdss-hdf5.ts);
// - a folder of class sub-folders holding PNG, FITS or .avro cutouts
//   (folders.ts);
// - an alert packet file (.avro), a folder of .avro files, or a glob pattern
//   of them (`alerts/*.avro`, `night-*/**/*.avro`; `*`, `?`, `[...]` within a
//   name and `**` for any depth of folders), read as alert-dataset.ts says:
//   unlabelled, bad packets skipped and reported.
// Every sample goes through options.preprocess ['scale255'] (samples.ts).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { InputError } from '../errors.ts';
import { readAlertSet, type AlertSetOptions } from './alert-dataset.ts';
import type { Dataset } from './dataset.ts';
import { readCutoutFolder, type FolderOptions } from './folders.ts';
import { readSdssHdf5 } from './hdf5.ts';

export interface LoadOptions extends FolderOptions, AlertSetOptions {}

/** What --data accepts, for messages. */
export const ACCEPTED_DATA =
  'an HDF5 file (.hdf5, .h5) in the sdss.hdf5 layout, a folder of class sub-folders (PNG, FITS or .avro cutouts), an alert packet file (.avro), a folder of .avro files, or a glob pattern of .avro files (e.g. alerts/*.avro)';

const AVRO = /\.avro$/i;
const GLOB = /[*?[]/;
const isHidden = (name: string) => name.startsWith('.');
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Reads the data at `path` (see the file's header for the kinds), each
 * sample through options.preprocess. Every error is a one-line InputError
 * naming the file, folder or pattern.
 */
export async function loadDataset(path: string, options: LoadOptions = {}): Promise<Dataset> {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) {
    if (!GLOB.test(path)) throw new InputError(`${path}: no such file or folder; expected ${ACCEPTED_DATA}`);
    const matches = expandGlob(path);
    if (matches.length === 0) throw new InputError(`${path}: no file matches this pattern; expected ${ACCEPTED_DATA}`);
    const other = matches.find((m) => !AVRO.test(m) || !statSync(m).isFile());
    if (other !== undefined) throw new InputError(`${path}: matches ${other}, which is not an .avro file; a pattern may name alert packet files only`);
    return readAlertFiles(matches, path, options);
  }
  if (stat.isDirectory()) {
    const names = readdirSync(path).filter((n) => !isHidden(n)).sort(byName);
    if (!names.some((n) => AVRO.test(n) && statSync(join(path, n)).isFile())) return readCutoutFolder(path, options);
    // A folder of alert packets.
    const other = names.find((n) => !AVRO.test(n) || !statSync(join(path, n)).isFile());
    if (other !== undefined) {
      throw new InputError(`${join(path, other)}: not an .avro file in a folder of alert packets; a folder holds either .avro files or class sub-folders of cutouts`);
    }
    return readAlertFiles(
      names.map((n) => join(path, n)),
      path,
      options,
    );
  }
  if (AVRO.test(path)) return readAlertFiles([path], path, options);
  return readSdssHdf5(path, options);
}

function readAlertFiles(paths: readonly string[], source: string, options: AlertSetOptions): Dataset {
  const files = paths.map((name) => {
    try {
      return { name, bytes: new Uint8Array(readFileSync(name)) };
    } catch (e) {
      throw new InputError(`${name}: not readable (${(e as Error).message})`);
    }
  });
  return readAlertSet(files, source, options);
}

/** A glob segment (no '/') as a regular expression: `*` any run of characters, `?` one, `[...]` a class (`[!...]` negated). */
function segmentPattern(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      re += `[${negated ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = close;
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The paths a glob pattern matches, sorted; hidden names only where the pattern's segment starts with '.'. */
export function expandGlob(pattern: string): string[] {
  const absolute = pattern.startsWith('/');
  const segments = pattern.split(/[\\/]+/).filter((s) => s !== '');
  let paths = [absolute ? '/' : ''];
  const isDir = (p: string) => statSync(p || '.', { throwIfNoEntry: false })?.isDirectory() ?? false;
  const list = (dir: string) => {
    try {
      return readdirSync(dir || '.').sort(byName);
    } catch {
      return [];
    }
  };
  const child = (dir: string, name: string) => (dir === '' ? name : dir === '/' ? `/${name}` : join(dir, name));
  for (const segment of segments) {
    const next: string[] = [];
    if (segment === '**') {
      // Zero or more folders, hidden ones left out.
      const stack = paths.filter(isDir);
      while (stack.length > 0) {
        const dir = stack.shift()!;
        next.push(dir);
        for (const name of list(dir)) if (!isHidden(name) && isDir(child(dir, name))) stack.push(child(dir, name));
      }
    } else if (!GLOB.test(segment)) {
      for (const dir of paths) {
        const p = child(dir, segment);
        if (statSync(p, { throwIfNoEntry: false })) next.push(p);
      }
    } else {
      const re = segmentPattern(segment);
      for (const dir of paths.filter(isDir)) {
        for (const name of list(dir)) if ((!isHidden(name) || segment.startsWith('.')) && re.test(name)) next.push(child(dir, name));
      }
    }
    paths = [...new Set(next)];
  }
  return paths.filter((p) => p !== '' && p !== '/').sort(byName).map((p) => p.split('/').join(sep));
}
