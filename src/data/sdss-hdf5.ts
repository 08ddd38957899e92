// sdss.hdf5, the paper's data file, read from an open h5wasm file with no
// Node built-in, so that the CLI (src/data/hdf5.ts opens it by path) and the
// browser page (web/, from the bytes the user picked) read surveys with one
// reader. Layout (REFERENCE.md): dataset `images`, uint8 N×69×69×3; dataset
// `classes`, integers 0-9, shape (N,). h5py writes the classes as int64 by
// default; any integer type is accepted here.
import { InputError } from '../errors.ts';
import { H5T_FLOAT, H5T_INTEGER, hdf5Call, Hdf5Error, type H5, type H5Dataset, type H5Group } from '../io/h5wasm.ts';
import { CHANNELS, CUTOUT_SIZE, VALUES_PER_IMAGE, type Dataset } from './dataset.ts';
import { ORIGINAL_CLASSES } from './labels.ts';

export const SDSS_LAYOUT = "sdss.hdf5 layout: 'images' uint8 N×69×69×3 and 'classes' integers 0-9 of shape (N)";
/** Images are copied out of the WebAssembly heap this many at a time (14 MB), never all at once. */
const READ_BLOCK = 1024;

/** An error of the HDF5 library while reading `source`, as one line. */
export const unreadableHdf5 = (source: string, e: Hdf5Error) => new InputError(`${source}: unreadable HDF5 (${e.message})`);

function describeType(dataset: H5Dataset): string {
  const { type, size, signed } = dataset.metadata;
  if (type === H5T_INTEGER) return `${signed ? 'int' : 'uint'}${size * 8}`;
  if (type === H5T_FLOAT) return `float${size * 8}`;
  return `HDF5 type class ${type} (not a number)`;
}

function openDataset(h5: H5, file: H5Group, source: string, name: string): H5Dataset {
  if (!file.keys().includes(name)) {
    throw new InputError(`${source}: no dataset '${name}' at the top level (found: ${file.keys().join(', ') || 'nothing'}); expected the ${SDSS_LAYOUT}`);
  }
  const entity = hdf5Call(() => file.get(name));
  if (!(entity instanceof h5.Dataset)) throw new InputError(`${source}: '${name}' is a ${entity?.constructor.name ?? 'link'}, not a dataset; expected the ${SDSS_LAYOUT}`);
  return entity;
}

/** Integers of any width, signedness and byte order, checked to lie in 0-9. */
function readClasses(dataset: H5Dataset, source: string): Uint8Array {
  const meta = dataset.metadata;
  const shape = dataset.shape ?? [];
  if (meta.type !== H5T_INTEGER) throw new InputError(`${source}: 'classes' holds ${describeType(dataset)}; expected integers 0-9`);
  if (shape.length !== 1) throw new InputError(`${source}: 'classes' has shape [${shape.join(', ')}]; expected (N) with one class per image`);
  // h5wasm converts to the machine's byte order, big-endian files included.
  const raw = hdf5Call(() => dataset.value) as ArrayLike<number | bigint>;
  const classes = new Uint8Array(shape[0]);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < classes.length; i++) {
    const v = Number(raw[i]);
    if (Number.isInteger(v) && v >= 0 && v < ORIGINAL_CLASSES.length) {
      classes[i] = v;
    } else {
      if (bad++ === 0) first = i;
    }
  }
  if (bad > 0) throw new InputError(`${source}: 'classes'[${first}] is ${raw[first]} (${bad} value${bad > 1 ? 's' : ''} outside 0-9); expected the ten original classes 0-9`);
  return classes;
}

function readImages(dataset: H5Dataset, source: string, n: number): Uint8Array {
  const meta = dataset.metadata;
  const shape = dataset.shape ?? [];
  if (meta.type !== H5T_INTEGER || meta.size !== 1 || meta.signed) {
    throw new InputError(`${source}: 'images' holds ${describeType(dataset)}; expected uint8 RGB composites (0-255)`);
  }
  if (shape.length !== 4 || shape[1] !== CUTOUT_SIZE || shape[2] !== CUTOUT_SIZE || shape[3] !== CHANNELS) {
    throw new InputError(`${source}: 'images' has shape [${shape.join(', ')}]; expected [N, ${CUTOUT_SIZE}, ${CUTOUT_SIZE}, ${CHANNELS}]`);
  }
  if (shape[0] !== n) throw new InputError(`${source}: 'images' holds ${shape[0]} cutouts but 'classes' holds ${n} labels; expected one label per cutout`);
  const images = new Uint8Array(n * VALUES_PER_IMAGE);
  for (let start = 0; start < n; start += READ_BLOCK) {
    const end = Math.min(n, start + READ_BLOCK);
    const block = hdf5Call(() => dataset.slice([[start, end]])) as Uint8Array;
    images.set(block, start * VALUES_PER_IMAGE);
  }
  return images;
}

/**
 * Reads the sdss.hdf5 survey open in `file` (with `h5` the h5wasm build that
 * opened it, its throwing error handler on), validating every part of its
 * layout. Every error is a one-line InputError naming `source`.
 */
export function readSdssFile(h5: H5, file: H5Group, source: string): Dataset {
  try {
    const classes = readClasses(openDataset(h5, file, source, 'classes'), source);
    if (classes.length === 0) throw new InputError(`${source}: 'classes' is empty; expected at least one sample`);
    const images = readImages(openDataset(h5, file, source, 'images'), source, classes.length);
    const ids = Array.from({ length: classes.length }, (_, i) => String(i));
    return { images, labels: classes, scheme: 'original', ids, source };
  } catch (e) {
    throw e instanceof Hdf5Error ? unreadableHdf5(source, e) : e;
  }
}
