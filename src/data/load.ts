// One entry point for every kind of data a user can point --data at.
import { statSync } from 'node:fs';
import { InputError } from '../errors.ts';
import type { Dataset } from './dataset.ts';
import { readCutoutFolder, type FolderOptions } from './folders.ts';
import { readSdssHdf5 } from './hdf5.ts';

/** Reads an sdss.hdf5 file or a folder of PNG cutouts (one sub-folder per class). */
export async function loadDataset(path: string, options: FolderOptions = {}): Promise<Dataset> {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new InputError(`${path}: no such file or folder; expected an sdss.hdf5 file or a folder of PNG cutouts`);
  return stat.isDirectory() ? readCutoutFolder(path, options) : readSdssHdf5(path);
}
