// Observing conditions of one cutout (seeing, sky brightness) and its noise:
// sky noise at the survey's single-epoch depth, plus the photon noise of the
// sources themselves. Frames are sky-subtracted, so empty sky averages zero.
import type { Random } from '../random.ts';
import type { Scene } from './render.ts';
import { psfOfSeeing, type Psf } from './psf.ts';
import { ELECTRONS_PER_NMGY, fluxOfMagnitude, LIMITING_MAGNITUDE, MEDIAN_SEEING } from './sdss.ts';

export interface Conditions {
  psf: Psf;
  /** Sky noise per band (g, r, i): standard deviation in nmgy per pixel. */
  sky: [number, number, number];
}

/** Noise-equivalent area (pixels) of a PSF: 1 / Σ p², the area whose noise a point source collects. */
export function noiseEquivalentArea(psf: Psf): number {
  const parts = [
    [psf.coreWeight, psf.core],
    [psf.wingWeight, psf.wing],
  ];
  let sum = 0;
  for (const [wa, sa] of parts) for (const [wb, sb] of parts) sum += (wa * wb) / (2 * Math.PI * (sa * sa + sb * sb));
  return 1 / sum;
}

/** Sky noise per band that puts a 5σ point source at the limiting magnitude in median seeing. */
const SKY_NOISE = LIMITING_MAGNITUDE.map((m) => fluxOfMagnitude(m) / (5 * Math.sqrt(noiseEquivalentArea(psfOfSeeing(MEDIAN_SEEING)))));

/**
 * Seeing varies from night to night around the median (log-normal, 0.08 dex,
 * within 0.9-2.4″); the sky brightens with the moon and airmass, raising
 * the noise by a log-normal factor (0.08 dex) that is common to all bands.
 */
export function drawConditions(random: Random): Conditions {
  const seeing = Math.min(2.4, Math.max(0.9, random.logNormal(MEDIAN_SEEING, 0.08)));
  const brightness = random.logNormal(1, 0.08);
  return { psf: psfOfSeeing(seeing), sky: [SKY_NOISE[0] * brightness, SKY_NOISE[1] * brightness, SKY_NOISE[2] * brightness] };
}

/**
 * Acklam's rational approximation of the standard normal quantile (relative
 * error below 1.2e-9), used once to build the noise table.
 */
function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * Noise deviates by table lookup: the 2¹⁶ quantiles (k + ½)/2¹⁶ of the
 * standard normal, one picked by 16 random bits. That is a standard normal
 * truncated at ±4.3σ, at a few nanoseconds a draw instead of Box-Muller's
 * ~25: a survey needs 311 million of them.
 */
const NORMAL_TABLE = Float32Array.from({ length: 65536 }, (_, k) => normalQuantile((k + 0.5) / 65536));

/** Adds sky and photon noise to every pixel of every band. */
export function addNoise(scene: Scene, conditions: Conditions, random: Random): void {
  for (let b = 0; b < 3; b++) {
    const band = scene.bands[b];
    const skyVariance = conditions.sky[b] ** 2;
    const perElectron = 1 / ELECTRONS_PER_NMGY[b];
    for (let p = 0; p < band.length; p += 2) {
      const bits = random.bits();
      const v0 = band[p];
      band[p] = v0 + Math.sqrt(skyVariance + (v0 > 0 ? v0 * perElectron : 0)) * NORMAL_TABLE[bits & 0xffff];
      if (p + 1 < band.length) {
        const v1 = band[p + 1];
        band[p + 1] = v1 + Math.sqrt(skyVariance + (v1 > 0 ? v1 * perElectron : 0)) * NORMAL_TABLE[bits >>> 16];
      }
    }
  }
}
