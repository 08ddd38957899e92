// Rasterisation of one cutout: three band images (g, r, i) in nanomaggies per
// pixel. A source's spatial profile is drawn once into a scratch image and
// then added to each band with that band's flux, since the three profiles of
// one source differ only by their fluxes.
/** Cutouts are 69×69 pixels (27 arcsec at SDSS's 0.396 arcsec per pixel), as sdss.hdf5's. */
export const SIZE = 69;
/** Composites are RGB: red, green, blue = i, r, g. */
export const CHANNELS = 3;
/** The candidate sits on the central pixel. */
export const CENTRE = (SIZE - 1) / 2;
/** Pixel integration: a unit box has variance 1/12, added to every Gaussian drawn. */
const PIXEL_VARIANCE = 1 / 12;
/** Gaussians are drawn out to this many standard deviations. */
const EXTENT = 4.5;

export type BandValues = readonly [number, number, number];

export class Scene {
  readonly bands: [Float32Array, Float32Array, Float32Array] = [new Float32Array(SIZE * SIZE), new Float32Array(SIZE * SIZE), new Float32Array(SIZE * SIZE)];
  private readonly profile = new Float32Array(SIZE * SIZE);
  // The part of `profile` drawn since the last emit (inclusive bounds).
  private x0 = SIZE;
  private x1 = -1;
  private y0 = SIZE;
  private y1 = -1;

  clear(): void {
    for (const band of this.bands) band.fill(0);
  }

  private touch(x0: number, x1: number, y0: number, y1: number): void {
    this.x0 = Math.min(this.x0, x0);
    this.x1 = Math.max(this.x1, x1);
    this.y0 = Math.min(this.y0, y0);
    this.y1 = Math.max(this.y1, y1);
  }

  /**
   * Adds `weight` × a normalised 2-D Gaussian centred at (x, y) with
   * covariance [[cxx, cxy], [cxy, cyy]] (pixels²), integrated over pixels.
   * Along a row the exponent is quadratic in x, so successive values follow
   * by two multiplications: e(x+1) = e(x)·r(x), r(x+1) = r(x)·exp(−a).
   */
  gaussian(x: number, y: number, cxx: number, cxy: number, cyy: number, weight: number): void {
    cxx += PIXEL_VARIANCE;
    cyy += PIXEL_VARIANCE;
    const det = cxx * cyy - cxy * cxy;
    const a = cyy / det;
    const b = -cxy / det;
    const c = cxx / det;
    const xa = Math.max(0, Math.floor(x - EXTENT * Math.sqrt(cxx)));
    const xb = Math.min(SIZE - 1, Math.ceil(x + EXTENT * Math.sqrt(cxx)));
    const ya = Math.max(0, Math.floor(y - EXTENT * Math.sqrt(cyy)));
    const yb = Math.min(SIZE - 1, Math.ceil(y + EXTENT * Math.sqrt(cyy)));
    if (xa > xb || ya > yb) return;
    this.touch(xa, xb, ya, yb);
    const norm = weight / (2 * Math.PI * Math.sqrt(det));
    const step = Math.exp(-a);
    const dx0 = xa - x;
    for (let py = ya; py <= yb; py++) {
      const dy = py - y;
      // exponent −(a dx² + 2b dx dy + c dy²)/2 at dx0, and the ratio to the next pixel
      let value = norm * Math.exp(-0.5 * (a * dx0 * dx0 + 2 * b * dx0 * dy + c * dy * dy));
      let ratio = Math.exp(-0.5 * (a * (2 * dx0 + 1) + 2 * b * dy));
      const row = py * SIZE;
      for (let px = xa; px <= xb; px++) {
        this.profile[row + px] += value;
        value *= ratio;
        ratio *= step;
      }
    }
  }

  /** Adds a circular Gaussian of standard deviation `sigma`. */
  round(x: number, y: number, sigma: number, weight: number): void {
    this.gaussian(x, y, sigma * sigma, 0, sigma * sigma, weight);
  }

  /**
   * Adds a Moffat (1969) profile with β = 3/2, (1 + r²/α²)^−3/2, normalised
   * to `weight` over the plane, over the whole cutout: wings falling as r⁻³,
   * as the far wings of a real PSF do.
   */
  moffat(x: number, y: number, alpha: number, weight: number): void {
    this.touch(0, SIZE - 1, 0, SIZE - 1);
    const norm = weight / (2 * Math.PI * alpha * alpha);
    const inverse = 1 / (alpha * alpha);
    for (let py = 0; py < SIZE; py++) {
      const dy2 = (py - y) * (py - y);
      for (let px = 0; px < SIZE; px++) {
        const s = 1 + ((px - x) * (px - x) + dy2) * inverse;
        this.profile[py * SIZE + px] += norm / (s * Math.sqrt(s));
      }
    }
  }

  /**
   * Adds a line from (x, y) along the unit direction (ux, uy), from distance
   * `from` to `to`, with a Gaussian cross-section of width `sigma` and
   * `brightness(s)` per unit length at distance s; past its ends it fades as
   * a Gaussian too, so a short line is a streak, not a rectangle.
   */
  line(x: number, y: number, ux: number, uy: number, from: number, to: number, sigma: number, brightness: (s: number) => number): void {
    const reach = EXTENT * sigma;
    const ends = [x + ux * from, x + ux * to, y + uy * from, y + uy * to];
    const xa = Math.max(0, Math.floor(Math.min(ends[0], ends[1]) - reach));
    const xb = Math.min(SIZE - 1, Math.ceil(Math.max(ends[0], ends[1]) + reach));
    const ya = Math.max(0, Math.floor(Math.min(ends[2], ends[3]) - reach));
    const yb = Math.min(SIZE - 1, Math.ceil(Math.max(ends[2], ends[3]) + reach));
    if (xa > xb || ya > yb) return;
    this.touch(xa, xb, ya, yb);
    const s2 = sigma * sigma + PIXEL_VARIANCE;
    const norm = 1 / Math.sqrt(2 * Math.PI * s2);
    for (let py = ya; py <= yb; py++) {
      for (let px = xa; px <= xb; px++) {
        const dx = px - x;
        const dy = py - y;
        const along = dx * ux + dy * uy;
        const s = Math.min(to, Math.max(from, along));
        const ex = dx - s * ux;
        const ey = dy - s * uy;
        const d2 = ex * ex + ey * ey;
        if (d2 < reach * reach) this.profile[py * SIZE + px] += brightness(s) * norm * Math.exp(-d2 / (2 * s2));
      }
    }
  }

  /** Adds `weight` to one pixel (cosmic-ray hits, hot pixels). */
  pixel(px: number, py: number, weight: number): void {
    if (px < 0 || px >= SIZE || py < 0 || py >= SIZE) return;
    this.touch(px, px, py, py);
    this.profile[py * SIZE + px] += weight;
  }

  /** Adds the drawn profile to each band with the given fluxes, and clears it. */
  emit(fluxes: BandValues): void {
    for (let py = this.y0; py <= this.y1; py++) {
      for (let px = this.x0; px <= this.x1; px++) {
        const p = py * SIZE + px;
        const v = this.profile[p];
        this.bands[0][p] += v * fluxes[0];
        this.bands[1][p] += v * fluxes[1];
        this.bands[2][p] += v * fluxes[2];
        this.profile[p] = 0;
      }
    }
    this.x0 = this.y0 = SIZE;
    this.x1 = this.y1 = -1;
  }
}
