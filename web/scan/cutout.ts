// A candidate's cutouts on screen: one canvas per picture, one canvas pixel
// per cutout pixel, enlarged by CSS with nearest-neighbour sampling
// (image-rendering: pixelated), so every cutout on the page is at one whole
// pixel scale and no pixel is smoothed into its neighbours. A colour
// composite (SDSS g, r, i) is one RGB picture of the channels in their stored
// order; an alert triplet is science, reference and difference side by side,
// each in grey. With the saliency overlay on, the cutout turns grey and the
// pixels that matter most to the score glow from red to white, by their share
// of the largest saliency.
import type { SampleShape } from '../../src/data/dataset.ts';
import type { Session } from './api.ts';
import { stretchCutout, type Stretch } from './stretch.ts';

export interface CutoutLook {
  stretch: Stretch;
  /** Screen pixels per cutout pixel. */
  scale: number;
  /** H×W, any non-negative values, or null for none. */
  saliency: Float32Array | null;
}

/** Saliency below this share of the peak is not drawn, so that the overlay marks where the score comes from, not the noise. */
const FLOOR = 0.2;

/** A "hot" colour for a share in [0, 1]: dark red through red and yellow to white. */
const hot = (t: number): [number, number, number] => [255 * Math.min(1, 0.35 + 1.5 * t), 255 * Math.min(1, Math.max(0, 2 * t - 0.5)), 255 * Math.max(0, 3 * t - 2)];

function picture(values: Float32Array, shape: SampleShape, channels: number[], saliency: Float32Array | null, scale: number): HTMLCanvasElement {
  const [h, w, c] = shape;
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = [w, h];
  canvas.style.width = `${w * scale}px`;
  canvas.style.height = `${h * scale}px`;
  const image = new ImageData(w, h);
  let top = 0;
  if (saliency) for (const s of saliency) top = Math.max(top, s);
  for (let p = 0; p < h * w; p++) {
    const rgb = [0, 1, 2].map((k) => 255 * values[p * c + channels[Math.min(k, channels.length - 1)]]);
    if (saliency) {
      // Under the overlay the cutout turns a dim grey, so that the hot colours stand out from a colour composite's own.
      const grey = 0.5 * (0.3 * rgb[0] + 0.59 * rgb[1] + 0.11 * rgb[2]);
      const share = top > 0 ? saliency[p] / top : 0;
      const a = share > FLOOR ? 0.35 + (0.65 * (share - FLOOR)) / (1 - FLOOR) : 0;
      const tint = hot(share);
      for (let k = 0; k < 3; k++) rgb[k] = (1 - a) * grey + a * tint[k];
    }
    image.data.set([...rgb, 255], p * 4);
  }
  canvas.getContext('2d')!.putImageData(image, 0, 0);
  return canvas;
}

/** The candidate's pictures (H×W×C network inputs `pixels`), with a caption under each for a triplet. */
export function cutoutElement(pixels: Float32Array, session: Pick<Session, 'layout' | 'shape' | 'channels'>, look: CutoutLook): HTMLElement {
  const values = stretchCutout(pixels, session.shape, look.stretch);
  const box = document.createElement('div');
  box.className = 'cutouts';
  const c = session.shape[2];
  if (session.layout === 'composite') {
    box.append(picture(values, session.shape, c >= 3 ? [0, 1, 2] : [0], look.saliency, look.scale));
    return box;
  }
  for (let k = 0; k < c; k++) {
    const figure = document.createElement('figure');
    const caption = document.createElement('figcaption');
    caption.textContent = session.channels[k] ?? `channel ${k}`;
    figure.append(picture(values, session.shape, [k], look.saliency, look.scale), caption);
    box.append(figure);
  }
  return box;
}
