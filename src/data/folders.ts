// Cutout folders, the form in which astronomers usually keep labelled
// cutouts: one sub-folder per class (the ten original names, or real /
// not-real), each holding PNG files, decoded by pngjs.
//
// Sizes: 69×69 is read as is. Other sizes are rejected, naming the file,
// unless `resize` is set: then square cutouts are resampled to 69×69 (a
// triangle filter, widened when shrinking so that no pixel is skipped).
// Non-square cutouts are always rejected: stretching would change the
// shapes that tell a star from a galaxy.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { InputError } from '../errors.ts';
import { CHANNELS, CUTOUT_SIZE, VALUES_PER_IMAGE, type Dataset } from './dataset.ts';
import { BINARY_CLASSES, ORIGINAL_CLASSES, parseClassFolder } from './labels.ts';

export interface FolderOptions {
  /** Resample square cutouts of other sizes to 69×69 instead of rejecting them. */
  resize?: boolean;
}

const EXPECTED_FOLDERS = `one sub-folder per class named ${ORIGINAL_CLASSES.join(', ')} (any case), or ${BINARY_CLASSES.map((c) => c.replace(' ', '-')).join(' / ')}`;

const isHidden = (name: string) => name.startsWith('.');
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

interface Entry {
  file: string;
  id: string;
  label: number;
}

/** Lists the cutouts, checking the folder structure before anything is decoded. */
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
    for (const file of readdirSync(folder).filter((n) => !isHidden(n)).sort(byName)) {
      const path = join(folder, file);
      if (!file.toLowerCase().endsWith('.png') || !statSync(path).isFile()) throw new InputError(`${path}: not a .png file; class folders hold PNG cutouts only`);
      entries.push({ file: path, id: `${name}/${file}`, label: parsed.label });
    }
  }
  if (scheme === undefined || entries.length === 0) throw new InputError(`${root}: no PNG cutouts found; expected ${EXPECTED_FOLDERS}`);
  return { entries, scheme };
}

/** Separable resampling of one RGB image with a triangle filter (as PIL's bilinear resize). */
function resample(rgb: Float32Array, size: number, out: Uint8Array, offset: number): void {
  const scale = size / CUTOUT_SIZE;
  const radius = Math.max(1, scale);
  // Weights of the source pixels that each output row/column draws on.
  const taps = Array.from({ length: CUTOUT_SIZE }, (_, o) => {
    const centre = (o + 0.5) * scale - 0.5;
    const from = Math.max(0, Math.ceil(centre - radius));
    const to = Math.min(size - 1, Math.floor(centre + radius));
    const weights: number[] = [];
    for (let s = from; s <= to; s++) weights.push(Math.max(0, 1 - Math.abs(s - centre) / radius));
    const total = weights.reduce((a, b) => a + b, 0);
    return { from, weights: weights.map((w) => w / total) };
  });
  const rows = new Float32Array(CUTOUT_SIZE * size * CHANNELS);
  for (let oy = 0; oy < CUTOUT_SIZE; oy++) {
    const { from, weights } = taps[oy];
    for (let x = 0; x < size * CHANNELS; x++) {
      let v = 0;
      for (let k = 0; k < weights.length; k++) v += weights[k] * rgb[(from + k) * size * CHANNELS + x];
      rows[oy * size * CHANNELS + x] = v;
    }
  }
  for (let oy = 0; oy < CUTOUT_SIZE; oy++) {
    for (let ox = 0; ox < CUTOUT_SIZE; ox++) {
      const { from, weights } = taps[ox];
      for (let c = 0; c < CHANNELS; c++) {
        let v = 0;
        for (let k = 0; k < weights.length; k++) v += weights[k] * rows[(oy * size + from + k) * CHANNELS + c];
        out[offset + (oy * CUTOUT_SIZE + ox) * CHANNELS + c] = Math.round(Math.min(255, Math.max(0, v)));
      }
    }
  }
}

/**
 * Decodes one PNG into `out` at `offset` as 69×69 RGB. pngjs expands grey,
 * palette and 16-bit images to 8-bit RGBA; alpha is composited onto black,
 * the colour of empty sky in a composite.
 */
function decodeCutout(path: string, options: FolderOptions, out: Uint8Array, offset: number): void {
  let png: PNG;
  try {
    png = PNG.sync.read(readFileSync(path));
  } catch (e) {
    throw new InputError(`${path}: not a readable PNG (${(e as Error).message})`);
  }
  const { width, height, data } = png;
  const exact = width === CUTOUT_SIZE && height === CUTOUT_SIZE;
  if (!exact && width !== height) throw new InputError(`${path}: ${width}×${height} pixels, not square; expected ${CUTOUT_SIZE}×${CUTOUT_SIZE} cutouts`);
  if (!exact && !options.resize) throw new InputError(`${path}: ${width}×${height} pixels; expected ${CUTOUT_SIZE}×${CUTOUT_SIZE} (pass --resize to resample square cutouts to 69×69)`);
  const pixels = width * height;
  const rgb = new Float32Array(pixels * CHANNELS);
  for (let p = 0; p < pixels; p++) {
    const alpha = data[p * 4 + 3] / 255;
    for (let c = 0; c < CHANNELS; c++) rgb[p * CHANNELS + c] = data[p * 4 + c] * alpha;
  }
  if (exact) {
    for (let i = 0; i < rgb.length; i++) out[offset + i] = Math.round(rgb[i]);
  } else {
    resample(rgb, width, out, offset);
  }
}

/** Reads a cutout folder into memory; samples are ordered by class, then by file name. */
export function readCutoutFolder(root: string, options: FolderOptions = {}): Dataset {
  const { entries, scheme } = listCutouts(root);
  const images = new Uint8Array(entries.length * VALUES_PER_IMAGE);
  const order = entries.map((_, i) => i).sort((a, b) => entries[a].label - entries[b].label || a - b);
  const labels = new Uint8Array(entries.length);
  const ids: string[] = [];
  order.forEach((e, i) => {
    decodeCutout(entries[e].file, options, images, i * VALUES_PER_IMAGE);
    labels[i] = entries[e].label;
    ids.push(entries[e].id);
  });
  return { images, labels, scheme, ids, source: root };
}
