// Keras 2 HDF5 weight files on disk: node:fs and h5wasm's Node build around
// the platform-free reader and writer of src/io/keras-hdf5-layout.ts (which
// documents the layout), with errors that name the file and atomic writes.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { replaceFile } from './atomic-file.ts';
import type { H5File } from './h5wasm.ts';
import { nodeHdf5 } from './h5wasm-node.ts';
import { checkKerasCheckpoint, hdf5Reason, readKerasCheckpoint, writeKerasCheckpoint, type KerasCheckpoint, type LayerWeights } from './keras-hdf5-layout.ts';

export type { KerasCheckpoint, LayerWeights };

/**
 * Reads a Keras 2 HDF5 weight file or a Handscan checkpoint (see
 * readKerasCheckpoint). Throws an Error with a one-line message naming the
 * file when it is missing, not HDF5, or not laid out as Keras's.
 */
export async function readKerasWeights(path: string): Promise<KerasCheckpoint> {
  const h5 = await nodeHdf5();
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new Error(`${path}: no such file`);
  if (!info.isFile()) throw new Error(`${path}: not a file`);
  let file: H5File;
  try {
    file = new h5.File(resolve(path), 'r');
  } catch (e) {
    throw new Error(`${path}: not an HDF5 file, or a damaged one (${hdf5Reason(e)})`);
  }
  try {
    return readKerasCheckpoint(h5, file);
  } catch (e) {
    throw new Error(`${path}: ${hdf5Reason(e)}`);
  } finally {
    file.close();
  }
}

/**
 * Writes a checkpoint (see writeKerasCheckpoint). Atomic: the file is
 * written beside `path` under a temporary name and renamed over it only once
 * complete, so a crash leaves the previous file intact; a checkpoint that
 * cannot be written is refused before any file is made.
 */
export async function writeKerasWeights(path: string, ckpt: KerasCheckpoint): Promise<void> {
  const h5 = await nodeHdf5();
  try {
    checkKerasCheckpoint(ckpt);
    await replaceFile(path, (temporary) => {
      const file = new h5.File(temporary, 'w');
      try {
        writeKerasCheckpoint(h5, file, ckpt);
      } finally {
        file.close();
      }
    });
  } catch (e) {
    throw new Error(`${path}: cannot write checkpoint: ${hdf5Reason(e)}`);
  }
}
