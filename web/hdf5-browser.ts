// HDF5 files the user picked, opened in the page with h5wasm's browser build
// from their bytes; the readers themselves are the CLI's
// (src/io/keras-hdf5-layout.ts, src/data/sdss-hdf5.ts), which take the
// library and the open file.
import h5wasm from 'h5wasm';
import type { H5, H5File } from '../src/io/h5wasm.ts';
import { hdf5Reason } from '../src/io/keras-hdf5-layout.ts';

let opened = 0;

/**
 * Runs `read` on the bytes as a read-only HDF5 file in h5wasm's in-memory
 * file system, then closes and removes it. `name` (the user's file name)
 * prefixes every error that does not already start with it.
 */
export async function withHdf5<T>(bytes: Uint8Array, name: string, read: (h5: H5, file: H5File) => T): Promise<T> {
  const module = await h5wasm.ready;
  module.activate_throwing_error_handler();
  const path = `/upload-${++opened}.h5`;
  module.FS.writeFile(path, bytes);
  try {
    let file: H5File;
    try {
      file = new h5wasm.File(path, 'r');
    } catch {
      throw new Error('not an HDF5 file, or a damaged one');
    }
    try {
      return read(h5wasm, file);
    } finally {
      file.close();
    }
  } catch (e) {
    throw named(name, e);
  } finally {
    module.FS.unlink(path);
  }
}

/** The error in one line (HDF5's outermost call, for the library's own), prefixed with the file's name unless it starts with it. */
export function named(name: string, e: unknown): Error {
  const line = hdf5Reason(e);
  return new Error(line.startsWith(`${name}: `) ? line : `${name}: ${line}`);
}
