// h5wasm (the HDF5 C library compiled to WebAssembly) as the file-format
// readers use it on either platform. The loaded library is a parameter:
// Node's build (`h5wasm/node`, from src/io/h5wasm-node.ts) or the browser's
// (`h5wasm`, in web/); only types are imported here, so that the readers that
// take it bundle for a browser. Both loaders turn on h5wasm's throwing error
// handler: an HDF5 error is an exception carrying HDF5's error stack, and
// nothing is printed.
import type { Dataset, File, Group } from 'h5wasm';

/** What the readers use of the library: the same classes in both builds. */
export type H5 = { File: typeof File; Group: typeof Group; Dataset: typeof Dataset };
export type { Dataset as H5Dataset, File as H5File, Group as H5Group };

/** h5wasm's datatype classes (H5T_class_t). */
export const H5T_INTEGER = 0;
export const H5T_FLOAT = 1;
export const H5T_STRING = 3;

/** One frame of HDF5's error stack ("#006: …/H5Fsuper.c line 577 in H5F__super_read(): truncated file: …"): the call and its message. */
export function hdf5Frame(e: unknown, which: 'outermost' | 'innermost'): { call: string; message: string } | undefined {
  const text = e instanceof Error ? e.message : String(e);
  const frames = text.split('\n').flatMap((line) => {
    const frame = /^\s*#\d+:.*? in (\w+\(\)):\s*(.*)$/.exec(line);
    return frame ? [{ call: frame[1], message: frame[2].trim() }] : [];
  });
  return which === 'outermost' ? frames[0] : frames.at(-1);
}

/** An error of the HDF5 library itself, as its innermost reason ("truncated file: eof = …"). */
export class Hdf5Error extends Error {}

/** Runs a call into h5wasm; an error thrown inside it becomes an Hdf5Error with HDF5's innermost reason (or the error's first line). */
export function hdf5Call<T>(call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw new Hdf5Error(hdf5Frame(e, 'innermost')?.message ?? (e instanceof Error ? e.message : String(e)).split('\n')[0]);
  }
}
