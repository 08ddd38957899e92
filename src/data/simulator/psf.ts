// The point-spread function: SDSS's photometric pipeline models it as a
// double Gaussian (a core and a wing of twice its width, psField's
// psf_sigma1, psf_sigma2 and psf_b, the wing-to-core peak ratio; Lupton et
// al. 2001), plus power-law wings that show around bright stars, drawn here as
// a Moffat profile with β = 1.5 (surface brightness falling as r⁻³).
// Bright stars also show diffraction spikes from the four vanes that hold
// the secondary mirror: horizontal and vertical in SDSS frames.
import type { BandValues, Scene } from './render.ts';
import { G, I, PIXEL_SCALE, R, WAVELENGTH_NM } from './sdss.ts';

/** Wing-to-core peak ratio (psf_b) and width ratio (psf_sigma2 / psf_sigma1). */
const WING_PEAK_RATIO = 0.1;
const WING_WIDTH_RATIO = 2;
/** FWHM of that double Gaussian in units of the core's σ (solved numerically). */
const FWHM_PER_CORE_SIGMA = 2.461;
/** Share of a star's light in the power-law wings, and their Moffat core radius in core σ. */
const HALO_FRACTION = 0.03;
const HALO_ALPHA = 3;
/** Spike light per unit length at distance s from the star: SPIKE_STRENGTH · flux · σ / (s² + σ²), in r. */
const SPIKE_STRENGTH = 0.012;

export interface Psf {
  /** FWHM in pixels. */
  fwhm: number;
  /** Core and wing standard deviations (pixels) and their shares of the light. */
  core: number;
  wing: number;
  coreWeight: number;
  wingWeight: number;
}

export function psfOfSeeing(fwhmArcsec: number): Psf {
  const fwhm = fwhmArcsec / PIXEL_SCALE;
  const core = fwhm / FWHM_PER_CORE_SIGMA;
  const wing = WING_WIDTH_RATIO * core;
  // Peak ratio b means wing/core flux = b·σ2²/σ1².
  const wingShare = (WING_PEAK_RATIO * WING_WIDTH_RATIO ** 2) / (1 + WING_PEAK_RATIO * WING_WIDTH_RATIO ** 2);
  return { fwhm, core, wing, coreWeight: (1 - HALO_FRACTION) * (1 - wingShare), wingWeight: (1 - HALO_FRACTION) * wingShare };
}

/**
 * Draws a point source at (x, y) with per-band fluxes (nmgy). The power-law
 * wings, spread over the whole cutout, are only drawn where their peak would
 * reach `haloThreshold` (nmgy per pixel): below that they vanish in the noise.
 */
export function drawPointSource(scene: Scene, psf: Psf, x: number, y: number, fluxes: BandValues, haloThreshold: number): void {
  scene.round(x, y, psf.core, psf.coreWeight);
  scene.round(x, y, psf.wing, psf.wingWeight);
  const alpha = HALO_ALPHA * psf.core;
  const haloPeak = (Math.max(...fluxes) * HALO_FRACTION) / (2 * Math.PI * alpha * alpha);
  if (haloPeak > haloThreshold) scene.moffat(x, y, alpha, HALO_FRACTION);
  scene.emit(fluxes);
}

/**
 * Draws the four diffraction spikes of a star at (x, y), which may lie
 * outside the cutout. Their light falls as 1/s² along each spike and scales
 * with wavelength (a diffraction pattern's size does), so outer spikes are red.
 */
export function drawSpikes(scene: Scene, psf: Psf, x: number, y: number, fluxes: BandValues, reach: number): void {
  const brightness = (s: number) => (SPIKE_STRENGTH * psf.core) / (s * s + psf.core * psf.core);
  const directions = [
    [1, 0],
    [-1, 0],
    [0, 1],
    [0, -1],
  ];
  for (const [ux, uy] of directions) scene.line(x, y, ux, uy, 0, reach, psf.core * 0.7, brightness);
  scene.emit([(fluxes[G] * WAVELENGTH_NM[G]) / WAVELENGTH_NM[R], fluxes[R], (fluxes[I] * WAVELENGTH_NM[I]) / WAVELENGTH_NM[R]]);
}
