// h5wasm's Node build for the path-based readers and writers
// (src/io/keras-hdf5.ts, src/data/hdf5.ts), loaded once.
import type { H5 } from './h5wasm.ts';

let library: Promise<H5> | undefined;

/**
 * h5wasm, loaded on first use (under tsx its 4 MB module takes seconds to
 * load, which model_config users need not pay), with HDF5 errors thrown as
 * exceptions instead of printed to stderr and ignored.
 */
export function nodeHdf5(): Promise<H5> {
  library ??= import('h5wasm/node').then(async (h5) => {
    (await h5.ready).activate_throwing_error_handler();
    return h5;
  });
  return library;
}
