// Keras 2 HDF5 weight files inside an open h5wasm file: read and written
// here with no Node built-in, so that the CLI (src/io/keras-hdf5.ts opens
// the file by path, atomically on write) and the browser page (web/, from
// the bytes the user picked) read checkpoints with one reader. The
// `model_config` JSON they carry is src/nn/keras-config.ts's: this file is
// only the file format.
//
// The layout Keras 2 `model.save` / `ModelCheckpoint` writes (keras/engine/saving.py):
//   /                     attrs keras_version, backend, model_config (JSON)
//   /model_weights        attrs layer_names (every layer, model order), keras_version, backend
//   /model_weights/L      attr weight_names, e.g. ['conv2d_1/kernel:0', 'conv2d_1/bias:0'];
//                         [] for a layer without weights
//   /model_weights/L/conv2d_1/kernel:0   float32 dataset (kh, kw, in, out) or (in, out)
// `save_weights` writes the same layer groups and layer_names at the root.
// Strings are fixed-length byte strings, as h5py stores Python bytes, so that
// Keras versions that call .decode() on them read them.
//
// Handscan's own state (optimizer moments, epoch, RNG...) lives in /handscan,
// which Keras never opens:
//   /handscan             attr version = 1
//   /handscan/state       scalar string dataset: JSON of every non-array value
//                         of `extra` (a dataset, as it may outgrow the 64 KiB an
//                         attribute can hold)
//   /handscan/arrays/K    float32 dataset for each Float32Array value of
//                         `extra` under key K; a '/' in K makes subgroups
//                         ('adam/m/conv2d_1/kernel' → arrays/adam/m/conv2d_1/kernel)
import { kerasConfigLayerNames } from '../nn/keras-config.ts';
import type { LayerWeights } from '../nn/sequential.ts';
import { H5T_FLOAT, hdf5Frame, type H5, type H5Dataset, type H5Group } from './h5wasm.ts';

export type { LayerWeights };

export interface KerasCheckpoint {
  /** Every layer in model order, weightless ones with weights: []. */
  layers: LayerWeights[];
  /** Parsed JSON of the root `model_config` attribute, when present. */
  modelConfig?: unknown;
  /** Handscan's own state: Float32Array values become datasets, the rest JSON (NaN and ±Infinity turn into null, as in JSON). */
  extra?: Record<string, unknown>;
}

/** What Keras 2.2.4 writes; Keras converts weights only for files of Keras 1. */
const KERAS_VERSION = '2.2.4';
const BACKEND = 'tensorflow';
const EXTRA_VERSION = 1;

/** One line for an error inside a read or write: HDF5's outermost call and message (HDF5-DIAG #000), else the error's first line. */
export function hdf5Reason(e: unknown): string {
  const top = hdf5Frame(e, 'outermost');
  return top ? `${top.call} ${top.message}` : (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/** A string or string-list attribute (fixed or variable length); Keras writes an empty list as a zero-length float64 array. */
function stringsAttr(node: H5Group, name: string): string[] | undefined {
  if (!(name in node.attrs)) return undefined;
  const v = node.attrs[name].value;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  if (ArrayBuffer.isView(v) && (v as Float64Array).length === 0) return [];
  throw new Error(`attribute ${node.path}/${name} is not a list of strings`);
}

const utf8 = new TextEncoder();
const byteLength = (s: string) => utf8.encode(s).length;

function writeStringsAttr(node: H5Group, name: string, values: string[]): void {
  const size = Math.max(1, ...values.map(byteLength));
  node.create_attribute(name, values, [values.length], `S${size}`);
}

function writeStringAttr(node: H5Group, name: string, value: string): void {
  node.create_attribute(name, value, null, `S${Math.max(1, byteLength(value))}`);
}

/** 'conv2d_1/kernel:0' → 'kernel'. */
const shortWeightName = (full: string) => full.slice(full.lastIndexOf('/') + 1).replace(/:\d+$/, '');

function readFloat32(ds: H5Dataset, what: string): { shape: number[]; values: Float32Array } {
  const { type, size } = ds.metadata;
  if (type !== H5T_FLOAT || (size !== 4 && size !== 8)) {
    throw new Error(`${what} is not float32 or float64 (HDF5 type class ${type}, ${size} bytes)`);
  }
  const shape = ds.shape ?? [];
  const v = ds.value as Float32Array | Float64Array;
  const count = shape.reduce((a, b) => a * b, 1);
  if (v.length !== count) throw new Error(`${what} holds ${v.length} values for shape [${shape}]`);
  return { shape, values: v instanceof Float32Array ? v : Float32Array.from(v) };
}

function readLayers(h5: H5, root: H5Group): LayerWeights[] {
  // Keras's load_weights: the root when it has layer_names, else model_weights.
  const modelWeights = root.get('model_weights');
  const group = 'layer_names' in root.attrs ? root : modelWeights instanceof h5.Group ? modelWeights : undefined;
  const layerNames = group && stringsAttr(group, 'layer_names');
  if (!group || !layerNames) throw new Error('not a Keras 2 weight file: no layer_names attribute at / or /model_weights');
  return layerNames.map((layer) => {
    const g = group.get(layer);
    if (!(g instanceof h5.Group)) throw new Error(`layer '${layer}' is listed in layer_names but ${group.path.replace(/\/$/, '')}/${layer} is missing`);
    const weightNames = stringsAttr(g, 'weight_names');
    if (!weightNames) throw new Error(`layer group ${g.path} has no weight_names attribute`);
    const weights = weightNames.map((full) => {
      const ds = g.get(full);
      if (!(ds instanceof h5.Dataset)) throw new Error(`missing weight ${g.path}/${full}`);
      return { name: shortWeightName(full), ...readFloat32(ds, `weight ${g.path}/${full}`) };
    });
    return { name: layer, weights };
  });
}

function readExtra(h5: H5, root: H5Group): Record<string, unknown> | undefined {
  const group = root.get('handscan');
  if (!(group instanceof h5.Group)) return undefined;
  const version = group.attrs.version?.value;
  if (Number(version) !== EXTRA_VERSION) throw new Error(`/handscan has version ${String(version)}, this Handscan reads version ${EXTRA_VERSION}`);
  const state = group.get('state');
  if (!(state instanceof h5.Dataset) || typeof state.value !== 'string') throw new Error('/handscan/state is missing or not a string');
  let extra: Record<string, unknown>;
  try {
    extra = JSON.parse(state.value);
  } catch (e) {
    throw new Error(`/handscan/state is not valid JSON (${(e as Error).message})`);
  }
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw new Error('/handscan/state is not a JSON object');
  const walk = (g: H5Group, prefix: string) => {
    for (const key of g.keys()) {
      const child = g.get(key);
      if (child instanceof h5.Group) walk(child, `${prefix}${key}/`);
      else if (child instanceof h5.Dataset) extra[`${prefix}${key}`] = readFloat32(child, `array ${child.path}`).values;
    }
  };
  const arrays = group.get('arrays');
  if (arrays instanceof h5.Group) walk(arrays, '');
  return extra;
}

/**
 * Reads the Keras 2 weight file (a full model from `save`/`ModelCheckpoint`
 * or a `save_weights` file) or Handscan checkpoint open in `file`, with `h5`
 * the h5wasm build that opened it. Weights come back in the order of
 * weight_names, as float32. Throws an Error with a one-line message (see
 * hdf5Reason for HDF5's own) when it is not laid out as Keras's.
 */
export function readKerasCheckpoint(h5: H5, file: H5Group): KerasCheckpoint {
  const checkpoint: KerasCheckpoint = { layers: readLayers(h5, file) };
  const config = stringsAttr(file, 'model_config');
  if (config) {
    try {
      checkpoint.modelConfig = JSON.parse(config[0]);
    } catch (e) {
      throw new Error(`the model_config attribute is not valid JSON (${(e as Error).message})`);
    }
  }
  const extra = readExtra(h5, file);
  if (extra) checkpoint.extra = extra;
  return checkpoint;
}

/** Checks what can be checked before a file is touched; what the writer finds later (colliding extra keys) fails the write just the same. */
export function checkKerasCheckpoint(ckpt: KerasCheckpoint): void {
  const seen = new Set<string>();
  for (const layer of ckpt.layers) {
    if (!/^[^/.][^/]*$/.test(layer.name)) throw new Error(`layer name '${layer.name}' cannot be an HDF5 group name`);
    if (seen.has(layer.name)) throw new Error(`layer name '${layer.name}' appears twice`);
    seen.add(layer.name);
    const names = new Set<string>();
    for (const w of layer.weights) {
      if (!/^[A-Za-z_][\w-]*$/.test(w.name) || names.has(w.name)) throw new Error(`layer ${layer.name}: weight name '${w.name}' is empty, repeated or has odd characters`);
      names.add(w.name);
      if (!(w.values instanceof Float32Array)) throw new Error(`layer ${layer.name}/${w.name}: values must be a Float32Array`);
      const count = w.shape.reduce((a, b) => a * b, 1);
      if (w.values.length !== count) throw new Error(`layer ${layer.name}/${w.name}: ${w.values.length} values for shape [${w.shape}]`);
    }
  }
  if (ckpt.modelConfig !== undefined) {
    const configured = kerasConfigLayerNames(ckpt.modelConfig);
    const given = ckpt.layers.map((l) => l.name);
    if (configured.join(',') !== given.join(',')) throw new Error(`model_config names layers [${configured.join(', ')}] but the weights are for [${given.join(', ')}]`);
  }
  for (const [key, value] of Object.entries(ckpt.extra ?? {})) {
    if (value instanceof Float32Array) {
      if (!/^[^/.][^/]*(\/[^/.][^/]*)*$/.test(key)) throw new Error(`extra array key '${key}' cannot be an HDF5 path`);
      continue;
    }
    JSON.stringify(value, (k, v) => {
      if (ArrayBuffer.isView(v)) throw new Error(`extra.${key}${k ? `.${k}` : ''}: only top-level Float32Array values are stored as arrays; store other arrays as plain number[]`);
      return v;
    });
  }
}

function writeExtra(h5: H5, root: H5Group, extra: Record<string, unknown>): void {
  const group = root.create_group('handscan');
  group.create_attribute('version', EXTRA_VERSION, null, '<i4');
  const state = Object.fromEntries(Object.entries(extra).filter(([, v]) => !(v instanceof Float32Array)));
  const json = JSON.stringify(state);
  group.create_dataset({ name: 'state', data: json, shape: [], dtype: `S${Math.max(1, byteLength(json))}` });
  const arrays = group.create_group('arrays');
  for (const [key, value] of Object.entries(extra)) {
    if (!(value instanceof Float32Array)) continue;
    const parts = key.split('/');
    let g = arrays;
    for (const part of parts.slice(0, -1)) {
      const child = g.get(part);
      if (child instanceof h5.Dataset) throw new Error(`extra keys '${child.path.slice('/handscan/arrays/'.length)}' and '${key}' collide`);
      g = child instanceof h5.Group ? child : g.create_group(part);
    }
    if (g.get(parts[parts.length - 1])) throw new Error(`extra key '${key}' collides with another key`);
    g.create_dataset({ name: parts[parts.length - 1], data: value, shape: [value.length] });
  }
}

/**
 * Writes a checkpoint into the empty, writable `file` in the full-model
 * layout Keras's load_model reads (with model_config when the checkpoint has
 * one, without optimizer_weights or training_config) plus /handscan for
 * `extra`, after checkKerasCheckpoint.
 */
export function writeKerasCheckpoint(h5: H5, file: H5Group, ckpt: KerasCheckpoint): void {
  checkKerasCheckpoint(ckpt);
  writeStringAttr(file, 'keras_version', KERAS_VERSION);
  writeStringAttr(file, 'backend', BACKEND);
  if (ckpt.modelConfig !== undefined) writeStringAttr(file, 'model_config', JSON.stringify(ckpt.modelConfig));
  const weights = file.create_group('model_weights');
  writeStringsAttr(weights, 'layer_names', ckpt.layers.map((l) => l.name));
  writeStringAttr(weights, 'keras_version', KERAS_VERSION);
  writeStringAttr(weights, 'backend', BACKEND);
  for (const layer of ckpt.layers) {
    const g = weights.create_group(layer.name);
    writeStringsAttr(g, 'weight_names', layer.weights.map((w) => `${layer.name}/${w.name}:0`));
    // Keras names datasets by the weight's full name, so 'conv2d_1/kernel:0' is a subgroup and a dataset.
    const inner = layer.weights.length > 0 ? g.create_group(layer.name) : g;
    for (const w of layer.weights) inner.create_dataset({ name: `${w.name}:0`, data: w.values, shape: w.shape, dtype: '<f4' });
  }
  if (ckpt.extra) writeExtra(h5, file, ckpt.extra);
}
