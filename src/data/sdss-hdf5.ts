// HDF5 datasets in the sdss.hdf5 layout, read from an open h5wasm file with
// no Node built-in, so that the CLI (src/data/hdf5.ts opens it by path) and
// the browser page (web/, from the bytes the user picked) read them with one
// reader. Layout (SDSS_LAYOUT; the paper's file, REFERENCE.md, is its first
// case):
// - `images`: uint8, float32 or float64, N×H×W×C, or N×H×W for one channel;
//   the paper's sdss.hdf5 holds uint8 N×69×69×3 colour composites;
// - `classes` (optional): integers 0-9 of shape (N), the ten original
//   classes; h5py writes them as int64 by default, any integer type is
//   accepted. Without it the dataset is unlabelled: fine to predict on, not
//   to train or evaluate;
// - `ids` (optional): integers (written as decimal strings) or strings, of
//   shape (N), a name per sample; without it the sample's index.
// Pixels go through the chosen preprocessing step (samples.ts): uint8 under
// 'scale255' stays uint8; float64 is rounded to float32 first; then the step
// (so 'scale255' of float pixels needs them in 0..255).
import { InputError } from '../errors.ts';
import { H5T_FLOAT, H5T_INTEGER, H5T_STRING, hdf5Call, Hdf5Error, type H5, type H5Dataset, type H5Group } from '../io/h5wasm.ts';
import { checkDataset, type Dataset, type SampleShape } from './dataset.ts';
import { ORIGINAL_CLASSES } from './labels.ts';
import type { PreprocessStepName } from './preprocess.ts';
import { inputStep, SampleCollector } from './samples.ts';

export const SDSS_LAYOUT =
  "sdss.hdf5 layout: 'images' uint8, float32 or float64 of shape N×H×W×C or N×H×W (the paper's: uint8 N×69×69×3), optional 'classes' integers 0-9 of shape (N), optional 'ids' integers or strings of shape (N)";
/** Images are copied out of the WebAssembly heap about this many bytes at a time (14 MB), never all at once. */
const READ_BYTES = 1024 * 69 * 69 * 3;

export interface Hdf5Options {
  /** The step from the file's pixels to the network's input ['scale255']. */
  preprocess?: PreprocessStepName;
}

/** An error of the HDF5 library while reading `source`, as one line. */
export const unreadableHdf5 = (source: string, e: Hdf5Error) => new InputError(`${source}: unreadable HDF5 (${e.message})`);

function describeType(dataset: H5Dataset): string {
  const { type, size, signed } = dataset.metadata;
  if (type === H5T_INTEGER) return `${signed ? 'int' : 'uint'}${size * 8}`;
  if (type === H5T_FLOAT) return `float${size * 8}`;
  if (type === H5T_STRING) return 'strings';
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

/** A name per sample: integers as exact decimal strings (int64 too), or the strings themselves. */
function readIds(dataset: H5Dataset, source: string, n: number): string[] {
  const meta = dataset.metadata;
  const shape = dataset.shape ?? [];
  if (meta.type !== H5T_INTEGER && meta.type !== H5T_STRING) throw new InputError(`${source}: 'ids' holds ${describeType(dataset)}; expected integers or strings, one per image`);
  if (shape.length !== 1) throw new InputError(`${source}: 'ids' has shape [${shape.join(', ')}]; expected (N) with one id per image`);
  if (shape[0] !== n) throw new InputError(`${source}: 'ids' holds ${shape[0]} ids but 'images' holds ${n} cutouts; expected one id per cutout`);
  const raw = hdf5Call(() => dataset.value) as ArrayLike<number | bigint | string>;
  return Array.from({ length: n }, (_, i) => String(raw[i]));
}

/** The images dataset's N and sample shape, checked against the layout. */
function imageLayout(dataset: H5Dataset, source: string): { n: number; shape: SampleShape; type: 'uint8' | 'float32' | 'float64' } {
  const { type, size, signed } = dataset.metadata;
  const kind = type === H5T_INTEGER && size === 1 && !signed ? 'uint8' : type === H5T_FLOAT && size === 4 ? 'float32' : type === H5T_FLOAT && size === 8 ? 'float64' : undefined;
  if (kind === undefined) throw new InputError(`${source}: 'images' holds ${describeType(dataset)}; expected uint8 (0-255 composites), float32 or float64 pixels`);
  const dims = dataset.shape ?? [];
  if ((dims.length !== 4 && dims.length !== 3) || !dims.slice(1).every((d) => d >= 1)) {
    throw new InputError(`${source}: 'images' has shape [${dims.join(', ')}]; expected [N, H, W, C] or [N, H, W] (one channel), e.g. the paper's [N, 69, 69, 3]`);
  }
  return { n: dims[0], shape: [dims[1], dims[2], dims.length === 4 ? dims[3] : 1], type: kind };
}

/**
 * Reads the HDF5 dataset open in `file` (with `h5` the h5wasm build that
 * opened it, its throwing error handler on), validating every part of its
 * layout, and preprocesses its pixels with `options.preprocess`. Every error
 * is a one-line InputError naming `source` (and the sample, for a step's).
 */
export function readSdssFile(h5: H5, file: H5Group, source: string, options: Hdf5Options = {}): Dataset {
  const preprocess = inputStep(options.preprocess);
  try {
    const labelled = file.keys().includes('classes');
    const classes = labelled ? readClasses(openDataset(h5, file, source, 'classes'), source) : undefined;
    if (classes?.length === 0) throw new InputError(`${source}: 'classes' is empty; expected at least one sample`);
    const images = openDataset(h5, file, source, 'images');
    const { n, shape, type } = imageLayout(images, source);
    if (classes !== undefined && n !== classes.length) throw new InputError(`${source}: 'images' holds ${n} cutouts but 'classes' holds ${classes.length} labels; expected one label per cutout`);
    if (n === 0) throw new InputError(`${source}: 'images' is empty; expected at least one sample`);
    const ids = file.keys().includes('ids') ? readIds(openDataset(h5, file, source, 'ids'), source, n) : Array.from({ length: n }, (_, i) => String(i));
    const labels = classes ?? new Uint8Array(n);
    const scheme = classes === undefined ? 'unlabelled' : 'original';
    const values = shape[0] * shape[1] * shape[2];
    const block = Math.max(1, Math.floor(READ_BYTES / (values * (type === 'uint8' ? 1 : type === 'float32' ? 4 : 8))));
    const slice = (start: number, end: number) => hdf5Call(() => images.slice([[start, end]])) as Uint8Array | Float32Array | Float64Array;

    if (type === 'uint8' && preprocess === 'scale255') {
      // The paper's case: raw pixels, scaled per batch.
      const pixels = new Uint8Array(n * values);
      for (let start = 0; start < n; start += block) pixels.set(slice(start, Math.min(n, start + block)), start * values);
      return checkDataset({ shape, images: pixels, preprocess, labels, scheme, ids, source });
    }
    const collector = new SampleCollector(source, preprocess, { capacity: n });
    for (let start = 0; start < n; start += block) {
      const end = Math.min(n, start + block);
      const raw = slice(start, end);
      // float64 becomes float32 before the step, as the network sees float32.
      const pixels = raw instanceof Float64Array ? Float32Array.from(raw) : raw;
      for (let i = start; i < end; i++) {
        const sample = pixels.subarray((i - start) * values, (i - start + 1) * values);
        const where = `${source}: sample ${ids[i]}`;
        if (sample instanceof Uint8Array) collector.addUint8(ids[i], labels[i], sample, shape, where);
        else collector.addHwc(ids[i], labels[i], sample, shape, where);
      }
    }
    return collector.finish(scheme);
  } catch (e) {
    throw e instanceof Hdf5Error ? unreadableHdf5(source, e) : e;
  }
}
