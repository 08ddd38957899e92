// FITS files on disk (`.fits`, or `.fits.gz`: gzip is told by its magic bytes,
// not by the name): node:fs around the platform-free reader.
import { readFile } from 'node:fs/promises';
import { readFits, type FitsHdu } from './fits.ts';
import { InputError } from '../errors.ts';

/** The primary HDU and image extensions of the FITS file at path. */
export async function readFitsFile(path: string): Promise<FitsHdu[]> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const { code, message } = e as NodeJS.ErrnoException;
    throw new InputError(code === 'ENOENT' ? `${path}: no such file` : `${path}: not readable (${message})`);
  }
  return readFits(bytes, path);
}
