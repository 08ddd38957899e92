// sdss.hdf5, the paper's data file, read and written through h5wasm (the HDF5
// C library compiled to WebAssembly). Layout (REFERENCE.md): dataset `images`,
// uint8 N×69×69×3; dataset `classes`, integers 0-9, shape (N,). h5py writes
// the classes as int64 by default; any integer type is accepted here.
import fs, { closeSync, openSync, readSync, statSync } from 'node:fs';
import h5wasm, { type Dataset as H5Dataset, type File as H5File } from 'h5wasm/node';
import { InputError } from '../errors.ts';
import { replaceFile } from '../io/atomic-file.ts';
import { CHANNELS, CUTOUT_SIZE, VALUES_PER_IMAGE, type Dataset } from './dataset.ts';
import { ORIGINAL_CLASSES } from './labels.ts';

const LAYOUT = "sdss.hdf5 layout: 'images' uint8 N×69×69×3 and 'classes' integers 0-9 of shape (N)";
/** Images are copied out of the WebAssembly heap this many at a time (14 MB), never all at once. */
const READ_BLOCK = 1024;
/** HDF5's format signature; it may sit after a user block of 512, 1024, 2048, ... bytes. */
const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
/** h5wasm's datatype classes (H5T_class_t). */
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;

/**
 * Runs a synchronous HDF5 call with its diagnostics captured. The library
 * prints its whole error stack to the process's stderr (h5wasm does not
 * export H5Eset_auto to turn that off), which would bury our one-line
 * message; h5wasm writes through node:fs, so while the call runs, writes to
 * fd 2 are collected instead, and the deepest reason is returned with the
 * error. A call that reports an error without failing fails here.
 */
function quietly<T>(call: () => T): T {
  const writeSync = fs.writeSync;
  let diagnostics = '';
  fs.writeSync = ((fd: number, buffer: Uint8Array | string, ...rest: unknown[]) => {
    if (fd !== 2) return (writeSync as (...a: unknown[]) => number)(fd, buffer, ...rest);
    if (typeof buffer === 'string') {
      diagnostics += buffer;
      return Buffer.byteLength(buffer);
    }
    const [offset = 0, length = buffer.byteLength - offset] = rest as [number | undefined, number | undefined];
    diagnostics += Buffer.from(buffer.buffer, buffer.byteOffset + offset, length).toString();
    return length;
  }) as typeof fs.writeSync;
  let value: T;
  try {
    value = call();
  } catch (e) {
    throw new Hdf5Error(deepestReason(diagnostics) ?? (e as Error).message);
  } finally {
    fs.writeSync = writeSync;
  }
  if (diagnostics) throw new Hdf5Error(deepestReason(diagnostics) ?? diagnostics.trim());
  return value;
}

class Hdf5Error extends Error {}

/** The last frame of an HDF5 error stack is the root cause: "#006: ... H5F__super_read(): truncated file: eof = ...". */
function deepestReason(diagnostics: string): string | undefined {
  const frames = diagnostics.split('\n').filter((line) => /^\s*#\d+:/.test(line));
  const last = frames.at(-1);
  return last?.replace(/^\s*#\d+:.*?\(\):\s*/, '').trim();
}

function hasHdf5Signature(path: string): boolean {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(SIGNATURE.length);
    for (let offset = 0; offset + SIGNATURE.length <= size; offset = offset === 0 ? 512 : offset * 2) {
      readSync(fd, head, 0, SIGNATURE.length, offset);
      if (head.equals(SIGNATURE)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

function describeType(dataset: H5Dataset): string {
  const { type, size, signed } = dataset.metadata;
  if (type === H5T_INTEGER) return `${signed ? 'int' : 'uint'}${size * 8}`;
  if (type === H5T_FLOAT) return `float${size * 8}`;
  return `HDF5 type class ${type} (not a number)`;
}

function openDataset(file: H5File, path: string, name: string): H5Dataset {
  if (!file.keys().includes(name)) {
    throw new InputError(`${path}: no dataset '${name}' at the top level (found: ${file.keys().join(', ') || 'nothing'}); expected the ${LAYOUT}`);
  }
  const entity = quietly(() => file.get(name));
  if (!(entity instanceof h5wasm.Dataset)) throw new InputError(`${path}: '${name}' is a ${entity?.constructor.name ?? 'link'}, not a dataset; expected the ${LAYOUT}`);
  return entity;
}

/** Integers of any width, signedness and byte order, checked to lie in 0-9. */
function readClasses(dataset: H5Dataset, path: string): Uint8Array {
  const meta = dataset.metadata;
  const shape = dataset.shape ?? [];
  if (meta.type !== H5T_INTEGER) throw new InputError(`${path}: 'classes' holds ${describeType(dataset)}; expected integers 0-9`);
  if (shape.length !== 1) throw new InputError(`${path}: 'classes' has shape [${shape.join(', ')}]; expected (N) with one class per image`);
  // h5wasm converts to the machine's byte order, big-endian files included.
  const raw = quietly(() => dataset.value) as ArrayLike<number | bigint>;
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
  if (bad > 0) throw new InputError(`${path}: 'classes'[${first}] is ${raw[first]} (${bad} value${bad > 1 ? 's' : ''} outside 0-9); expected the ten original classes 0-9`);
  return classes;
}

function readImages(dataset: H5Dataset, path: string, n: number): Uint8Array {
  const meta = dataset.metadata;
  const shape = dataset.shape ?? [];
  if (meta.type !== H5T_INTEGER || meta.size !== 1 || meta.signed) {
    throw new InputError(`${path}: 'images' holds ${describeType(dataset)}; expected uint8 RGB composites (0-255)`);
  }
  if (shape.length !== 4 || shape[1] !== CUTOUT_SIZE || shape[2] !== CUTOUT_SIZE || shape[3] !== CHANNELS) {
    throw new InputError(`${path}: 'images' has shape [${shape.join(', ')}]; expected [N, ${CUTOUT_SIZE}, ${CUTOUT_SIZE}, ${CHANNELS}]`);
  }
  if (shape[0] !== n) throw new InputError(`${path}: 'images' holds ${shape[0]} cutouts but 'classes' holds ${n} labels; expected one label per cutout`);
  const images = new Uint8Array(n * VALUES_PER_IMAGE);
  for (let start = 0; start < n; start += READ_BLOCK) {
    const end = Math.min(n, start + READ_BLOCK);
    const block = quietly(() => dataset.slice([[start, end]])) as Uint8Array;
    images.set(block, start * VALUES_PER_IMAGE);
  }
  return images;
}

/** Reads an sdss.hdf5 file, validating every part of its layout. */
export async function readSdssHdf5(path: string): Promise<Dataset> {
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new InputError(`${path}: no such file`);
  if (!hasHdf5Signature(path)) throw new InputError(`${path}: not an HDF5 file (no HDF5 signature); expected the ${LAYOUT}`);
  await h5wasm.ready;
  try {
    const file = quietly(() => new h5wasm.File(path, 'r'));
    try {
      const classes = readClasses(openDataset(file, path, 'classes'), path);
      if (classes.length === 0) throw new InputError(`${path}: 'classes' is empty; expected at least one sample`);
      const images = readImages(openDataset(file, path, 'images'), path, classes.length);
      const ids = Array.from({ length: classes.length }, (_, i) => String(i));
      return { images, labels: classes, scheme: 'original', ids, source: path };
    } finally {
      file.close();
    }
  } catch (e) {
    if (e instanceof Hdf5Error) throw new InputError(`${path}: unreadable HDF5 (${e.message})`);
    throw e;
  }
}

/**
 * HDF5 stamps object headers with the current time; h5wasm reads the clock
 * through Date.now, so pinning it to the epoch while writing makes the file's
 * bytes depend on its contents alone.
 */
function withFixedClock<T>(call: () => T): T {
  const now = Date.now;
  Date.now = () => 0;
  try {
    return call();
  } finally {
    Date.now = now;
  }
}

/**
 * Writes `dataset` in the sdss.hdf5 layout (classes as int64, as h5py writes
 * a NumPy integer array; the oldest file format that holds it, h5py's
 * default library bounds), atomically.
 * `attributes` go on the root group (e.g. the simulator's seed).
 */
export async function writeSdssHdf5(path: string, dataset: Dataset, attributes: Record<string, string | number> = {}): Promise<void> {
  if (dataset.scheme !== 'original') throw new InputError(`${dataset.source}: sdss.hdf5 needs the ten original classes, this dataset has only real/not-real labels`);
  const n = dataset.labels.length;
  await h5wasm.ready;
  try {
    await replaceFile(path, (temporary) =>
      withFixedClock(() =>
        quietly(() => {
          const file = new h5wasm.File(temporary, 'w', { libver: ['earliest', 'latest'] });
          try {
            file.create_dataset({ name: 'images', data: dataset.images, shape: [n, CUTOUT_SIZE, CUTOUT_SIZE, CHANNELS], dtype: '<B' });
            file.create_dataset({ name: 'classes', data: BigInt64Array.from(dataset.labels, (c) => BigInt(c)), shape: [n], dtype: '<q' });
            for (const [key, value] of Object.entries(attributes)) file.create_attribute(key, value);
          } finally {
            file.close();
          }
        }),
      ),
    );
  } catch (e) {
    if (e instanceof Hdf5Error) throw new InputError(`${path}: could not write HDF5 (${e.message})`);
    throw e;
  }
}
