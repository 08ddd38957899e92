// Cutout folders, the form in which astronomers usually keep labelled
// cutouts: one sub-folder per class (the ten original names, or real /
// not-real), each holding cutout files of any one kind or a mix:
// - PNG (`.png`), decoded by pngjs to 8-bit RGB: grey, palette and 16-bit
//   images are expanded, alpha composited onto black (empty sky). Any size,
//   but every PNG the same, unless `resize` is set: then square PNGs are
//   resampled to 69×69 (or to `resize` pixels; a triangle filter, widened when
//   shrinking so that no pixel is skipped). Non-square PNGs are never
//   resampled: stretching would change the shapes that tell a star from a
//   galaxy.
// - FITS (`.fits`, `.fit`, `.fts`, each also gzipped as `.gz`), float pixels
//   as fits.ts gives them (BSCALE/BZERO applied, BLANK as NaN). A sample is
//   (a) a file holding a 3-D cube, its planes (NAXIS3) the channels in order;
//   (b) a file of several 2-D images (the primary HDU and IMAGE extensions
//   that have data), one per channel in file order; a single 2-D image is
//   one channel; or (c) several files sharing a stem, their suffixes naming
//   the channels: `_sci`/`_science`, `_ref`/`_reference`/`_template`,
//   `_diff`/`_difference` (channels science, reference, difference, in that
//   order), or `_g`, `_r`, `_i` (channels g, r, i), each file's first 2-D
//   image. A stem missing one of its three suffixes is refused.
// - Alert packets (`.avro`), each usable alert a sample of the folder's
//   class, as alert-dataset.ts reads them; a bad packet is skipped.
// Every sample goes through the chosen preprocessing step (samples.ts): PNGs
// stay uint8 under 'scale255', FITS pixels must then be in 0..255.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PNG } from 'pngjs';
import { InputError } from '../errors.ts';
import { collectAlerts, noAlertsLeft, type SkipOptions } from './alert-dataset.ts';
import type { Dataset, SkippedSample } from './dataset.ts';
import { readFits } from './fits.ts';
import { BINARY_CLASSES, ORIGINAL_CLASSES, parseClassFolder } from './labels.ts';
import type { Plane, PreprocessStepName } from './preprocess.ts';
import { SampleCollector } from './samples.ts';

export interface FolderOptions extends SkipOptions {
  /** Resample square PNG cutouts to 69×69 (true) or to this many pixels a side, instead of requiring one size. */
  resize?: boolean | number;
  /** The step from the files' pixels to the network's input ['scale255']. */
  preprocess?: PreprocessStepName;
}

/** The paper's networks take 69×69 cutouts: what `resize: true` resamples to. */
export const RESIZE_DEFAULT = 69;
const CHANNELS = 3;

const EXPECTED_FOLDERS = `one sub-folder per class named ${ORIGINAL_CLASSES.join(', ')} (any case), or ${BINARY_CLASSES.map((c) => c.replace(' ', '-')).join(' / ')}`;
const EXPECTED_FILES = 'class folders hold PNG (.png), FITS (.fits, .fit, .fts, each also .gz) and alert packet (.avro) files';

export const FITS_NAME = /\.(fits|fit|fts)(\.gz)?$/i;
const PNG_NAME = /\.png$/i;
const AVRO_NAME = /\.avro$/i;

/** The two sets of channel suffixes of FITS files sharing a stem, each channel with its spellings. */
const SUFFIX_SETS = [
  { name: '_sci, _ref, _diff (science, reference, difference)', channels: [['sci', 'science'], ['ref', 'reference', 'template'], ['diff', 'difference']] },
  { name: '_g, _r, _i', channels: [['g'], ['r'], ['i']] },
] as const;
const SUFFIXED = new RegExp(`^(.+)_(${SUFFIX_SETS.flatMap((s) => s.channels.flat()).join('|')})$`, 'i');

const isHidden = (name: string) => name.startsWith('.');
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

type Sample =
  | { kind: 'png'; file: string }
  | { kind: 'fits'; file: string }
  | { kind: 'fits-set'; stem: string; files: string[] }
  | { kind: 'avro'; file: string };

type Entry = Sample & { id: string; label: number };

/** A class folder's FITS files of one stem with channel suffixes. */
interface StemGroup {
  set?: number;
  files: (string | undefined)[];
  names: string[];
}

/** The samples of one class folder, ordered by name, checking every file name before anything is decoded. */
function listClassFolder(folder: string, name: string, label: number): Entry[] {
  const entries: Entry[] = [];
  const stems = new Map<string, StemGroup>();
  for (const file of readdirSync(folder).filter((n) => !isHidden(n)).sort(byName)) {
    const path = join(folder, file);
    if (!statSync(path).isFile()) throw new InputError(`${path}: not a file; ${EXPECTED_FILES}`);
    if (PNG_NAME.test(file)) entries.push({ kind: 'png', file: path, id: `${name}/${file}`, label });
    else if (AVRO_NAME.test(file)) entries.push({ kind: 'avro', file: path, id: `${name}/${file}`, label });
    else if (FITS_NAME.test(file)) {
      const base = file.replace(FITS_NAME, '');
      const suffixed = SUFFIXED.exec(base);
      if (!suffixed) {
        entries.push({ kind: 'fits', file: path, id: `${name}/${file}`, label });
        continue;
      }
      const [, stem, suffix] = suffixed;
      const set = SUFFIX_SETS.findIndex((s) => s.channels.some((spellings) => (spellings as readonly string[]).includes(suffix.toLowerCase())));
      const channel = SUFFIX_SETS[set].channels.findIndex((spellings) => (spellings as readonly string[]).includes(suffix.toLowerCase()));
      const group = stems.get(stem) ?? { files: [undefined, undefined, undefined], names: [] };
      stems.set(stem, group);
      if (group.set !== undefined && group.set !== set) {
        throw new InputError(`${join(folder, stem)}: files with suffixes of both sets (${group.names[0]} and ${file}); a stem's files take one set, ${SUFFIX_SETS.map((s) => s.name).join(' or ')}`);
      }
      group.set = set;
      const twin = group.files[channel];
      if (twin !== undefined) throw new InputError(`${join(folder, stem)}: two files for one channel, ${basename(twin)} and ${file}; keep one`);
      group.files[channel] = path;
      group.names.push(file);
    } else {
      throw new InputError(`${path}: not a cutout file; ${EXPECTED_FILES}`);
    }
  }
  for (const [stem, group] of stems) {
    const set = SUFFIX_SETS[group.set!];
    const missing = set.channels.filter((_, k) => group.files[k] === undefined).map((spellings) => `_${spellings.join('/_')}`);
    if (missing.length > 0) {
      throw new InputError(`${join(folder, stem)}: FITS files ${group.names.join(', ')} but none for ${missing.join(' or ')}; files sharing a stem need all three channels, ${set.name}`);
    }
    entries.push({ kind: 'fits-set', stem: join(folder, stem), files: group.files as string[], id: `${name}/${stem}`, label });
  }
  return entries.sort((a, b) => byName(a.id, b.id));
}

/** Lists the samples, checking the folder structure before anything is decoded; ordered by class, then by name. */
function listCutouts(root: string): { entries: Entry[]; scheme: 'original' | 'binary' } {
  const entries: Entry[] = [];
  const folderOf = new Map<string, string>();
  let scheme: 'original' | 'binary' | undefined;
  for (const name of readdirSync(root).filter((n) => !isHidden(n)).sort(byName)) {
    const folder = join(root, name);
    if (!statSync(folder).isDirectory()) throw new InputError(`${folder}: a file at the top of a cutout folder; expected ${EXPECTED_FOLDERS}`);
    const parsed = parseClassFolder(name);
    if (!parsed) throw new InputError(`${folder}: unknown class folder '${name}'; expected ${EXPECTED_FOLDERS}`);
    if (scheme !== undefined && parsed.scheme !== scheme) throw new InputError(`${root}: mixes real/not-real folders with class folders; use one kind`);
    scheme = parsed.scheme;
    const key = `${parsed.scheme}:${parsed.label}`;
    const twin = folderOf.get(key);
    if (twin !== undefined) throw new InputError(`${root}: folders '${twin}' and '${name}' name the same class; merge them`);
    folderOf.set(key, name);
    entries.push(...listClassFolder(folder, name, parsed.label));
  }
  if (scheme === undefined || entries.length === 0) throw new InputError(`${root}: no cutouts found (PNG, FITS or .avro files); expected ${EXPECTED_FOLDERS}, each holding cutouts`);
  // Stable: by class, then by name within the class.
  const order = entries.map((_, i) => i).sort((a, b) => entries[a].label - entries[b].label || a - b);
  return { entries: order.map((i) => entries[i]), scheme };
}

/** Separable resampling of one square RGB image to size × size with a triangle filter (as PIL's bilinear resize). */
function resample(rgb: Float32Array, from: number, size: number): Uint8Array {
  const scale = from / size;
  const radius = Math.max(1, scale);
  // Weights of the source pixels that each output row/column draws on.
  const taps = Array.from({ length: size }, (_, o) => {
    const centre = (o + 0.5) * scale - 0.5;
    const first = Math.max(0, Math.ceil(centre - radius));
    const last = Math.min(from - 1, Math.floor(centre + radius));
    const weights: number[] = [];
    for (let s = first; s <= last; s++) weights.push(Math.max(0, 1 - Math.abs(s - centre) / radius));
    const total = weights.reduce((a, b) => a + b, 0);
    return { first, weights: weights.map((w) => w / total) };
  });
  const rows = new Float32Array(size * from * CHANNELS);
  for (let oy = 0; oy < size; oy++) {
    const { first, weights } = taps[oy];
    for (let x = 0; x < from * CHANNELS; x++) {
      let v = 0;
      for (let k = 0; k < weights.length; k++) v += weights[k] * rgb[(first + k) * from * CHANNELS + x];
      rows[oy * from * CHANNELS + x] = v;
    }
  }
  const out = new Uint8Array(size * size * CHANNELS);
  for (let oy = 0; oy < size; oy++) {
    for (let ox = 0; ox < size; ox++) {
      const { first, weights } = taps[ox];
      for (let c = 0; c < CHANNELS; c++) {
        let v = 0;
        for (let k = 0; k < weights.length; k++) v += weights[k] * rows[(oy * from + first + k) * CHANNELS + c];
        out[(oy * size + ox) * CHANNELS + c] = Math.round(Math.min(255, Math.max(0, v)));
      }
    }
  }
  return out;
}

/**
 * Decodes one PNG as 8-bit RGB, height × width × 3, resampled to `resize`
 * pixels a side when given. pngjs expands grey, palette and 16-bit images to
 * 8-bit RGBA; alpha is composited onto black, the colour of empty sky in a
 * composite.
 */
function decodePng(path: string, resize: number | undefined): { pixels: Uint8Array; width: number; height: number } {
  let png: PNG;
  try {
    png = PNG.sync.read(readFileSync(path));
  } catch (e) {
    throw new InputError(`${path}: not a readable PNG (${(e as Error).message})`);
  }
  const { width, height, data } = png;
  if (resize !== undefined && width !== height) {
    throw new InputError(`${path}: ${width}×${height} pixels, not square, so it cannot be resampled to ${resize}×${resize} without stretching; expected square cutouts`);
  }
  const pixels = width * height;
  const rgb = new Float32Array(pixels * CHANNELS);
  for (let p = 0; p < pixels; p++) {
    const alpha = data[p * 4 + 3] / 255;
    for (let c = 0; c < CHANNELS; c++) rgb[p * CHANNELS + c] = data[p * 4 + c] * alpha;
  }
  if (resize !== undefined && width !== resize) return { pixels: resample(rgb, width, resize), width: resize, height: resize };
  return { pixels: Uint8Array.from(rgb, Math.round), width, height };
}

/** The image HDUs of a FITS file that have data. */
function fitsImages(path: string) {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputError(`${path}: not readable (${(e as Error).message})`);
  }
  return readFits(bytes, path).filter((hdu) => hdu.data.length > 0);
}

const describeAxes = (shape: readonly number[]) => shape.join('×');

/** One FITS file's channels: a 3-D cube's planes, or its 2-D images in order. */
function fitsPlanes(path: string): Plane[] {
  const images = fitsImages(path);
  if (images.length === 0) throw new InputError(`${path}: no image data in any HDU; expected a 2-D image, a 3-D cube, or 2-D image extensions (one per channel)`);
  if (images.length === 1 && images[0].shape.length === 3) {
    const [planes, rows, cols] = images[0].shape;
    return Array.from({ length: planes }, (_, k) => ({ data: images[0].data.subarray(k * rows * cols, (k + 1) * rows * cols), shape: [rows, cols] as const }));
  }
  return images.map((hdu) => {
    if (hdu.shape.length !== 2) {
      const what = images.length === 1 ? 'expected a 2-D image or a 3-D cube (planes as channels)' : 'a file of several images needs each to be 2-D, one per channel';
      throw new InputError(`${path}: HDU ${hdu.index} is ${describeAxes(hdu.shape)} (${hdu.shape.length}-D); ${what}`);
    }
    return { data: hdu.data, shape: [hdu.shape[0], hdu.shape[1]] as const };
  });
}

/** The first 2-D image of one channel's file. */
function fitsChannel(path: string): Plane {
  const image = fitsImages(path)[0];
  if (image === undefined || image.shape.length !== 2) {
    throw new InputError(`${path}: ${image === undefined ? 'no image data' : `a ${describeAxes(image.shape)} image`}; expected one 2-D image, a channel of the files sharing its stem`);
  }
  return { data: image.data, shape: [image.shape[0], image.shape[1]] };
}

/** Reads a cutout folder into memory through options.preprocess; samples are ordered by class, then by name. */
export function readCutoutFolder(root: string, options: FolderOptions = {}): Dataset {
  const { entries, scheme } = listCutouts(root);
  const resize = options.resize === true ? RESIZE_DEFAULT : options.resize === false ? undefined : options.resize;
  if (resize !== undefined && !(Number.isInteger(resize) && resize >= 1)) throw new RangeError(`readCutoutFolder: resize ${resize} is not a whole number ≥ 1`);
  const collector = new SampleCollector(root, options.preprocess);
  const skipped: SkippedSample[] = [];
  let packets = 0;
  let firstPng: { file: string; width: number; height: number } | undefined;
  for (const entry of entries) {
    switch (entry.kind) {
      case 'png': {
        const { pixels, width, height } = decodePng(entry.file, resize);
        firstPng ??= { file: entry.file, width, height };
        if (width !== firstPng.width || height !== firstPng.height) {
          throw new InputError(
            `${entry.file}: ${width}×${height} pixels, but ${firstPng.file} is ${firstPng.width}×${firstPng.height}; every cutout must have one size (pass --resize to resample square cutouts to ${RESIZE_DEFAULT}×${RESIZE_DEFAULT})`,
          );
        }
        collector.addUint8(entry.id, entry.label, pixels, [height, width, CHANNELS], entry.file);
        break;
      }
      case 'fits':
        collector.addPlanes(entry.id, entry.label, fitsPlanes(entry.file), entry.file);
        break;
      case 'fits-set':
        collector.addPlanes(entry.id, entry.label, entry.files.map(fitsChannel), `${entry.stem} (${entry.files.map((f) => basename(f)).join(', ')})`);
        break;
      case 'avro': {
        const folder = entry.id.slice(0, entry.id.indexOf('/') + 1);
        packets += collectAlerts(collector, { name: entry.file, bytes: readFileSync(entry.file) }, entry.label, folder, (s) => {
          skipped.push(s);
          options.onSkipped?.(s.id, s.reason);
        });
        break;
      }
    }
  }
  const alerts = entries.some((e) => e.kind === 'avro');
  return collector.finish(scheme, {
    ...(alerts ? { skipped } : {}),
    emptyReason: () => (alerts ? noAlertsLeft(packets, skipped, collector.preprocess) : 'no cutouts found'),
  });
}
