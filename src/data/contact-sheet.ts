// A contact sheet: random cutouts of each class in a labelled grid, like the
// notebook's sample figure, so a person can see what a dataset holds. Laid
// out as SVG (cutouts embedded as PNG, text in the system's sans-serif font)
// and rasterised by resvg.
import { Resvg } from '@resvg/resvg-js';
import { PNG } from 'pngjs';
import { writeFileAtomic } from '../io/atomic-file.ts';
import { CHANNELS, CUTOUT_SIZE, VALUES_PER_IMAGE, type Dataset } from './dataset.ts';
import { classNames } from './labels.ts';
import { Random } from './random.ts';

export interface SheetOptions {
  /** Cutouts shown per class (fewer when a class has fewer). */
  perClass?: number;
  /** Which cutouts are picked. */
  seed?: number;
  /** Magnification of each cutout (whole pixels, so they stay sharp). */
  zoom?: number;
}

const GAP = 8;
const LABEL_WIDTH = 170;
const TITLE_HEIGHT = 44;
const CAPTION_HEIGHT = 14;

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One cutout as a PNG data URI, each pixel repeated zoom×zoom times. */
function thumbnail(dataset: Dataset, index: number, zoom: number): string {
  const size = CUTOUT_SIZE * zoom;
  const png = new PNG({ width: size, height: size });
  const base = index * VALUES_PER_IMAGE;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const s = base + (Math.floor(y / zoom) * CUTOUT_SIZE + Math.floor(x / zoom)) * CHANNELS;
      const d = (y * size + x) * 4;
      png.data[d] = dataset.images[s];
      png.data[d + 1] = dataset.images[s + 1];
      png.data[d + 2] = dataset.images[s + 2];
      png.data[d + 3] = 255;
    }
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

/** Renders the sheet as PNG bytes: one row per class present in the dataset's own scheme. */
function renderContactSheet(dataset: Dataset, options: SheetOptions = {}): Buffer {
  const perClass = options.perClass ?? 8;
  const zoom = options.zoom ?? 2;
  const random = new Random(options.seed ?? 0, 0x5ee7);
  const names = classNames(dataset.scheme);
  const members = names.map(() => [] as number[]);
  dataset.labels.forEach((c, i) => members[c].push(i));
  const rows = members.map((m, c) => ({ name: names[c], count: m.length, picks: random.shuffle(m.slice()).slice(0, perClass) })).filter((r) => r.count > 0);

  const cell = CUTOUT_SIZE * zoom;
  const width = LABEL_WIDTH + perClass * (cell + GAP) + GAP;
  const rowHeight = cell + CAPTION_HEIGHT + GAP;
  const height = TITLE_HEIGHT + rows.length * rowHeight + GAP;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">`,
    `<rect width="100%" height="100%" fill="#181818"/>`,
    `<text x="${GAP}" y="20" font-size="15" fill="#f0f0f0">${escapeXml(dataset.source)}</text>`,
    `<text x="${GAP}" y="37" font-size="12" fill="#b0b0b0">${dataset.labels.length} cutouts; ${perClass} random ones per class (seed ${options.seed ?? 0}); R, G, B = i, r, g</text>`,
  ];
  rows.forEach((row, r) => {
    const top = TITLE_HEIGHT + r * rowHeight;
    parts.push(`<text x="${GAP}" y="${top + cell / 2}" font-size="14" fill="#f0f0f0">${escapeXml(row.name)}</text>`);
    parts.push(`<text x="${GAP}" y="${top + cell / 2 + 17}" font-size="11" fill="#b0b0b0">${row.count} cutouts</text>`);
    row.picks.forEach((index, k) => {
      const left = LABEL_WIDTH + k * (cell + GAP);
      parts.push(`<image x="${left}" y="${top}" width="${cell}" height="${cell}" href="${thumbnail(dataset, index, zoom)}"/>`);
      parts.push(`<text x="${left + cell / 2}" y="${top + cell + 11}" font-size="10" fill="#909090" text-anchor="middle">${escapeXml(dataset.ids[index])}</text>`);
    });
  });
  parts.push('</svg>');
  return new Resvg(parts.join('\n'), { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, logLevel: 'off' }).render().asPng();
}

export async function writeContactSheet(path: string, dataset: Dataset, options: SheetOptions = {}): Promise<void> {
  await writeFileAtomic(path, renderContactSheet(dataset, options));
}
