// A contact sheet: random cutouts of each class in a labelled grid, like the
// notebook's sample figure, so a person can see what a dataset holds. Laid
// out as SVG (cutouts embedded as PNG, text in the system's sans-serif font)
// and rasterised by resvg. uint8 cutouts are drawn as stored; float ones
// (preprocessed, or FITS and alert pixels) through a display stretch of
// preprocess.ts, each cutout's channels on their own (zscale by default).
// Channels 0, 1, 2 are red, green and blue; one channel is grey, a second
// without a third leaves blue empty.
import { Resvg } from '@resvg/resvg-js';
import { PNG } from 'pngjs';
import { writeFileAtomic } from '../io/atomic-file.ts';
import { describeShape, valuesPerSample, type Dataset } from './dataset.ts';
import { classNames } from './labels.ts';
import { planesFromHwc, PREPROCESS_STEPS } from './preprocess.ts';
import { Random } from './random.ts';

export interface SheetOptions {
  /** Cutouts shown per class (fewer when a class has fewer). */
  perClass?: number;
  /** Which cutouts are picked. */
  seed?: number;
  /** Magnification of each cutout (whole pixels, so they stay sharp). */
  zoom?: number;
  /** The display stretch of float cutouts ['zscale']; uint8 ones are drawn as they are. */
  stretch?: DisplayStretch;
}

export type DisplayStretch = 'linear' | 'asinh' | 'zscale';
export const DISPLAY_STRETCHES: readonly DisplayStretch[] = ['linear', 'asinh', 'zscale'];

const GAP = 8;
const LABEL_WIDTH = 170;
const TITLE_HEIGHT = 44;
const CAPTION_HEIGHT = 14;

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One cutout's pixels as 8-bit H×W×C: uint8 as stored, float through the stretch. */
export function displayPixels(dataset: Dataset, index: number, stretch: DisplayStretch): ArrayLike<number> {
  const values = valuesPerSample(dataset.shape);
  const pixels = dataset.images.subarray(index * values, (index + 1) * values);
  if (pixels instanceof Uint8Array) return pixels;
  const shown = PREPROCESS_STEPS[stretch].apply(planesFromHwc(pixels, dataset.shape)).data;
  return Uint8Array.from(shown, (v) => Math.round(v * 255));
}

/** One cutout as a PNG data URI, each pixel repeated zoom×zoom times. */
function thumbnail(dataset: Dataset, index: number, zoom: number, stretch: DisplayStretch): string {
  const [rows, cols, channels] = dataset.shape;
  const width = cols * zoom;
  const height = rows * zoom;
  const pixels = displayPixels(dataset, index, stretch);
  const png = new PNG({ width, height });
  // Channels 0-2 as R, G, B; one channel as grey.
  const from = channels === 1 ? [0, 0, 0] : [0, 1, channels > 2 ? 2 : -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (Math.floor(y / zoom) * cols + Math.floor(x / zoom)) * channels;
      const d = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) png.data[d + c] = from[c] < 0 ? 0 : pixels[s + from[c]];
      png.data[d + 3] = 255;
    }
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

/** Renders the sheet as PNG bytes: one row per class present in the dataset's own scheme. */
function renderContactSheet(dataset: Dataset, options: SheetOptions = {}): Buffer {
  const perClass = options.perClass ?? 8;
  const zoom = options.zoom ?? 2;
  const stretch = options.stretch ?? 'zscale';
  const random = new Random(options.seed ?? 0, 0x5ee7);
  const names = dataset.scheme === 'unlabelled' ? ['unlabelled'] : classNames(dataset.scheme);
  const members = names.map(() => [] as number[]);
  dataset.labels.forEach((c, i) => members[c].push(i));
  const rows = members.map((m, c) => ({ name: names[c], count: m.length, picks: random.shuffle(m.slice()).slice(0, perClass) })).filter((r) => r.count > 0);

  const [imageRows, imageCols, channels] = dataset.shape;
  const cell = imageCols * zoom;
  const cellHeight = imageRows * zoom;
  const width = LABEL_WIDTH + perClass * (cell + GAP) + GAP;
  const rowHeight = cellHeight + CAPTION_HEIGHT + GAP;
  const drawn = dataset.images instanceof Uint8Array ? 'as stored' : `${stretch} stretch per cutout`;
  const colours = channels === 1 ? 'grey' : channels === 2 ? 'channels 0, 1 as red, green' : `channels 0, 1, 2 as red, green, blue${channels > 3 ? ` (of ${channels})` : ''}`;
  const height = TITLE_HEIGHT + rows.length * rowHeight + GAP;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">`,
    `<rect width="100%" height="100%" fill="#181818"/>`,
    `<text x="${GAP}" y="20" font-size="15" fill="#f0f0f0">${escapeXml(dataset.source)}</text>`,
    `<text x="${GAP}" y="37" font-size="12" fill="#b0b0b0">${dataset.labels.length} cutouts of ${describeShape(dataset.shape)}; ${perClass} random ones per class (seed ${options.seed ?? 0}); ${drawn}, ${colours}</text>`,
  ];
  rows.forEach((row, r) => {
    const top = TITLE_HEIGHT + r * rowHeight;
    parts.push(`<text x="${GAP}" y="${top + cellHeight / 2}" font-size="14" fill="#f0f0f0">${escapeXml(row.name)}</text>`);
    parts.push(`<text x="${GAP}" y="${top + cellHeight / 2 + 17}" font-size="11" fill="#b0b0b0">${row.count} cutouts</text>`);
    row.picks.forEach((index, k) => {
      const left = LABEL_WIDTH + k * (cell + GAP);
      parts.push(`<image x="${left}" y="${top}" width="${cell}" height="${cellHeight}" href="${thumbnail(dataset, index, zoom, stretch)}"/>`);
      parts.push(`<text x="${left + cell / 2}" y="${top + cellHeight + 11}" font-size="10" fill="#909090" text-anchor="middle">${escapeXml(dataset.ids[index])}</text>`);
    });
  });
  parts.push('</svg>');
  return new Resvg(parts.join('\n'), { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, logLevel: 'off' }).render().asPng();
}

export async function writeContactSheet(path: string, dataset: Dataset, options: SheetOptions = {}): Promise<void> {
  await writeFileAtomic(path, renderContactSheet(dataset, options));
}
