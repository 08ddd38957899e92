// The colour composite of a cutout: i, r, g to red, green, blue with the
// asinh stretch of Lupton et al. (2004, PASP 116, 133), as SDSS's own colour
// images. The stretch acts on the mean intensity I of the three scaled bands
// and scales each band by the same factor F(I)/I, so colours are kept from
// the noise up to the brightest cores; a pixel whose brightest channel would
// pass white is scaled down as a whole, keeping its hue (their eq. 4).
// Saturated pixels have lost their colour, and are shown white.
import type { Scene } from './render.ts';
import { CHANNELS, SIZE } from './render.ts';
import { FULL_WELL, G, I, R } from './sdss.ts';

/**
 * Per-band scales (nmgy → intensity) balancing the colours: a solar-type
 * star comes out near white, an elliptical galaxy yellow-orange, a
 * star-forming one blue-white, as in SDSS's images.
 */
const SCALE = [2.2, 1.3, 1.0];
/** Softening β (intensity): below it the stretch is linear, above it logarithmic; about the sky noise. */
const SOFTENING = 0.12;
/** Intensity that maps to full white: any brighter pixel has a channel at 255. */
const WHITE = 60;
const NORMALISATION = 1 / Math.asinh(WHITE / SOFTENING);

/**
 * The stretch's factor F(I)/I = asinh(I/β)/(I·asinh(WHITE/β)), tabulated on
 * a grid uniform in sqrt(I) (dense where it bends) and interpolated
 * linearly: within a thousandth of a grey level of the exact value, and
 * several times faster than Math.asinh per pixel.
 */
const STEPS = 4096;
const ROOT_STEP = Math.sqrt(WHITE) / STEPS;
const FACTOR = Float64Array.from({ length: STEPS + 2 }, (_, k) => {
  const intensity = (k * ROOT_STEP) ** 2;
  return k === 0 ? NORMALISATION / SOFTENING : (Math.asinh(intensity / SOFTENING) * NORMALISATION) / intensity;
});

function stretchFactor(intensity: number): number {
  if (intensity >= WHITE) return 1 / intensity;
  const t = Math.sqrt(intensity) / ROOT_STEP;
  const k = Math.floor(t);
  return FACTOR[k] + (t - k) * (FACTOR[k + 1] - FACTOR[k]);
}

/** Writes the scene as 69×69×3 uint8 RGB at `offset` in `out`. */
export function composite(scene: Scene, out: Uint8Array, offset: number): void {
  const g = scene.bands[G];
  const r = scene.bands[R];
  const i = scene.bands[I];
  for (let p = 0; p < SIZE * SIZE; p++) {
    const red = i[p] * SCALE[I];
    const green = r[p] * SCALE[R];
    const blue = g[p] * SCALE[G];
    const intensity = (red + green + blue) / 3;
    const o = offset + p * CHANNELS;
    if (g[p] >= FULL_WELL[G] || r[p] >= FULL_WELL[R] || i[p] >= FULL_WELL[I]) {
      out[o] = out[o + 1] = out[o + 2] = 255;
      continue;
    }
    if (intensity <= 0) {
      out[o] = out[o + 1] = out[o + 2] = 0;
      continue;
    }
    const factor = stretchFactor(intensity);
    let cr = Math.max(0, red * factor);
    let cg = Math.max(0, green * factor);
    let cb = Math.max(0, blue * factor);
    const top = Math.max(cr, cg, cb);
    if (top > 1) {
      cr /= top;
      cg /= top;
      cb /= top;
    }
    out[o] = Math.round(cr * 255);
    out[o + 1] = Math.round(cg * 255);
    out[o + 2] = Math.round(cb * 255);
  }
}
