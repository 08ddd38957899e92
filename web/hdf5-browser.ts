// HDF5 files the user picked, read in the page with h5wasm's browser build:
// a Keras 2 / Handscan checkpoint and an sdss.hdf5 survey, from their bytes.
//
// Stopgap: src/io/keras-hdf5.ts and src/data/hdf5.ts read the same layouts,
// but only from a path on disk (node:fs). Once they also take an open h5wasm
// File, this module shrinks to `openHdf5`.
import h5wasm, { type Dataset, type Group } from 'h5wasm';
import { parseKerasModelConfig } from '../src/nn/keras-config.ts';
import type { LayerWeights } from '../src/nn/sequential.ts';
import type { ModelSpec } from '../src/nn/spec.ts';

type H5File = InstanceType<typeof h5wasm.File>;

let opened = 0;

/**
 * Runs `read` on the bytes as a read-only HDF5 file in h5wasm's in-memory
 * file system, then closes and removes it. `name` (the user's file name)
 * prefixes every error.
 */
export async function withHdf5<T>(bytes: Uint8Array, name: string, read: (file: H5File) => T): Promise<T> {
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
      return read(file);
    } finally {
      file.close();
    }
  } catch (e) {
    throw new Error(`${name}: ${firstLine(e)}`);
  } finally {
    module.FS.unlink(path);
  }
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** A string or string-list attribute; Keras writes an empty list as a zero-length float64 array. */
function strings(node: Group, name: string): string[] | undefined {
  const v = node.attrs[name]?.value;
  if (v === undefined) return undefined;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  if (ArrayBuffer.isView(v) && (v as Float64Array).length === 0) return [];
  throw new Error(`attribute ${node.path}/${name} is not a list of strings`);
}

/** The weights (layers that have some, in model order) and, when the file has a model_config, the architecture. */
export function readCheckpoint(file: H5File): { spec: ModelSpec | null; weights: LayerWeights[] } {
  // Keras's load_weights: the root when it has layer_names, else /model_weights.
  const nested = file.get('model_weights');
  const group = 'layer_names' in file.attrs ? file : nested instanceof h5wasm.Group ? nested : undefined;
  const layers = group && strings(group, 'layer_names');
  if (!group || !layers) throw new Error('not a Keras 2 weight file: no layer_names attribute at / or /model_weights');
  const weights = layers.map((layer) => {
    const g = group.get(layer);
    if (!(g instanceof h5wasm.Group)) throw new Error(`layer '${layer}' is listed in layer_names but missing`);
    return {
      name: layer,
      weights: (strings(g, 'weight_names') ?? []).map((full) => {
        const ds = g.get(full);
        if (!(ds instanceof h5wasm.Dataset) || !(ds.value instanceof Float32Array || ds.value instanceof Float64Array)) throw new Error(`weight ${g.path}/${full} is missing or not float`);
        // 'conv2d_1/kernel:0' → 'kernel'.
        return { name: full.slice(full.lastIndexOf('/') + 1).replace(/:\d+$/, ''), shape: ds.shape ?? [], values: Float32Array.from(ds.value) };
      }),
    };
  });
  const config = strings(file, 'model_config');
  return { spec: config ? parseKerasModelConfig(config[0]) : null, weights: weights.filter((l) => l.weights.length > 0) };
}

function dataset(file: H5File, name: string): Dataset {
  const ds = file.get(name);
  if (!(ds instanceof h5wasm.Dataset)) throw new Error(`no dataset '${name}': expected the sdss.hdf5 layout ('images' uint8 N×69×69×3, 'classes' integers 0-9)`);
  return ds;
}

/** sdss.hdf5's `images` (uint8 N×69×69×3) and `classes` (integers 0-9). */
export function readSurvey(file: H5File): { images: Uint8Array; classes: Uint8Array } {
  const images = dataset(file, 'images');
  const classes = dataset(file, 'classes');
  const [n, h, w, c] = images.shape ?? [];
  if (!(images.value instanceof Uint8Array) || images.shape?.length !== 4 || h !== 69 || w !== 69 || c !== 3) {
    throw new Error(`'images' has shape [${images.shape}] and dtype ${String(images.dtype)}; expected uint8 [N, 69, 69, 3]`);
  }
  const values = Array.from(classes.value as ArrayLike<number | bigint>, Number);
  if (values.length !== n) throw new Error(`'images' holds ${n} cutouts but 'classes' holds ${values.length} labels`);
  const bad = values.findIndex((v) => !(Number.isInteger(v) && v >= 0 && v <= 9));
  if (bad >= 0) throw new Error(`'classes'[${bad}] is ${values[bad]}; expected the ten original classes 0-9`);
  const labels = Uint8Array.from(values);
  return { images: images.value, classes: labels };
}
