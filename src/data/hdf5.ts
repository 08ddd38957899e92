// HDF5 files in the sdss.hdf5 layout on disk: node:fs and h5wasm's Node
// build around the platform-free reader of src/data/sdss-hdf5.ts (which
// documents the layout), and the writer the simulator uses.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { InputError } from '../errors.ts';
import { replaceFile } from '../io/atomic-file.ts';
import { hdf5Call, Hdf5Error, type H5File } from '../io/h5wasm.ts';
import { nodeHdf5 } from '../io/h5wasm-node.ts';
import { sampleCount, type Dataset } from './dataset.ts';
import { readSdssFile, SDSS_LAYOUT, unreadableHdf5, type Hdf5Options } from './sdss-hdf5.ts';

/** HDF5's format signature; it may sit after a user block of 512, 1024, 2048, ... bytes. */
const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

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

/**
 * Reads an HDF5 file in the sdss.hdf5 layout, validating every part of it and
 * preprocessing its pixels with options.preprocess (readSdssFile); every
 * error is a one-line InputError naming the file.
 */
export async function readSdssHdf5(path: string, options: Hdf5Options = {}): Promise<Dataset> {
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new InputError(`${path}: no such file`);
  if (!hasHdf5Signature(path)) throw new InputError(`${path}: not an HDF5 file (no HDF5 signature); expected the ${SDSS_LAYOUT}`);
  const h5 = await nodeHdf5();
  let file: H5File;
  try {
    file = hdf5Call(() => new h5.File(path, 'r'));
  } catch (e) {
    throw e instanceof Hdf5Error ? unreadableHdf5(path, e) : e;
  }
  try {
    return readSdssFile(h5, file, path, options);
  } finally {
    file.close();
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
 * Writes `dataset` in the sdss.hdf5 layout, atomically: `images` of its
 * shape, uint8 as they are or float32 (already preprocessed: read them back
 * with preprocess 'none'); `classes` as int64 (as h5py writes a NumPy integer
 * array) unless it is unlabelled; `ids` as strings unless they are the
 * samples' indices. The oldest file format that holds it (h5py's default
 * library bounds). `attributes` go on the root group (e.g. the simulator's
 * seed); a float32 dataset also records its step in `preprocess`.
 */
export async function writeSdssHdf5(path: string, dataset: Dataset, attributes: Record<string, string | number> = {}): Promise<void> {
  if (dataset.scheme === 'binary') throw new InputError(`${dataset.source}: sdss.hdf5 needs the ten original classes, this dataset has only real/not-real labels`);
  const n = sampleCount(dataset);
  const float = dataset.images instanceof Float32Array;
  const indexIds = dataset.ids.every((id, i) => id === String(i));
  const h5 = await nodeHdf5();
  try {
    await replaceFile(path, (temporary) =>
      withFixedClock(() =>
        hdf5Call(() => {
          const file = new h5.File(temporary, 'w', { libver: ['earliest', 'latest'] });
          try {
            file.create_dataset({ name: 'images', data: dataset.images, shape: [n, ...dataset.shape], dtype: float ? '<f' : '<B' });
            if (dataset.scheme === 'original') file.create_dataset({ name: 'classes', data: BigInt64Array.from(dataset.labels, (c) => BigInt(c)), shape: [n], dtype: '<q' });
            if (!indexIds) file.create_dataset({ name: 'ids', data: [...dataset.ids], shape: [n] });
            if (float) file.create_attribute('preprocess', dataset.preprocess);
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
