// The sources on the sky: stars along the SDSS stellar locus, galaxies with
// Sérsic profiles, and the colours of supernovae, quasars and asteroids.
// Galaxies are drawn as mixtures of Gaussians (Hogg & Lang 2013, PASP 125,
// 719): convolving one with the double-Gaussian PSF only adds covariances.
import type { Random } from '../random.ts';
import { drawPointSource, type Psf } from './psf.ts';
import { CENTRE, SIZE, type BandValues, type Scene } from './render.ts';
import { fluxOfMagnitude, PIXEL_SCALE, R } from './sdss.ts';
import { noiseEquivalentArea, type Conditions } from './sky.ts';

/** Everything one cutout's drawing needs. */
export interface Cutout {
  scene: Scene;
  conditions: Conditions;
  random: Random;
  /** 0 (bright, clean candidates) to 1 (down to the detection limit, and beyond); see survey.ts. */
  difficulty: number;
}

/** A colour as (g − r, r − i) in AB magnitudes. */
export type Colour = readonly [number, number];

/** Per-band fluxes (nmgy) of a source with r-band flux `r` and colour (g − r, r − i). */
export function fluxesOf(r: number, [gr, ri]: Colour): BandValues {
  return [r * 10 ** (-0.4 * gr), r, r * 10 ** (0.4 * ri)];
}

/**
 * Stars at high galactic latitude (stripe 82): mostly F/G turn-off stars of
 * the halo, some K stars, and M dwarfs, whose r − i climbs steeply at
 * g − r ≈ 1.4 (the stellar locus of Covey et al. 2007).
 */
export function starColour(random: Random): Colour {
  const kind = random.weighted([0.55, 0.25, 0.2]);
  if (kind === 0) {
    const gr = 0.3 + 0.1 * random.normal();
    return [gr, 0.38 * gr - 0.03 + 0.03 * random.normal()];
  }
  if (kind === 1) {
    const gr = random.uniform(0.5, 1.3);
    return [gr, 0.38 * gr - 0.03 + 0.04 * random.normal()];
  }
  return [1.4 + 0.06 * random.normal(), random.uniform(0.5, 1.8)];
}

/** Quasars: blue point sources, with a broad spread from their emission lines. */
export function quasarColour(random: Random): Colour {
  return [0.2 + 0.12 * random.normal(), 0.15 + 0.1 * random.normal()];
}

/** Supernovae near peak at the survey's redshifts (0.05-0.4): from blue to red in g − r as redshift pushes the UV into g. */
export function supernovaColour(random: Random): Colour {
  return [random.uniform(-0.2, 0.9), random.uniform(-0.35, 0.35)];
}

/** Main-belt asteroids reflect sunlight: S types slightly redder than C types. */
export function asteroidColour(random: Random): Colour {
  return [0.55 + 0.08 * random.normal(), 0.15 + 0.06 * random.normal()];
}

/** Red sequence (early types, redder with redshift) and blue cloud (star-forming discs). */
function galaxyColour(random: Random, red: boolean): Colour {
  return red ? [random.uniform(0.75, 1.5), random.uniform(0.35, 0.55)] : [random.uniform(0.3, 0.75), random.uniform(0.15, 0.4)];
}

/**
 * Sérsic profiles as Gaussian mixtures: amplitudes and variances (in units
 * of the half-light radius squared) fitted by least squares to the n = 1
 * (exponential) and n = 4 (de Vaucouleurs) profiles out to 8 r_e, weighted by
 * area, as Hogg & Lang (2013) did.
 */
const EXPONENTIAL = {
  weights: [0.000616, 0.007948, 0.053292, 0.218008, 0.454971, 0.265165],
  variances: [0.002573, 0.018926, 0.082848, 0.283014, 0.832011, 2.254912],
};
const DE_VAUCOULEURS = {
  weights: [0.000129, 0.001231, 0.006605, 0.025276, 0.074856, 0.175415, 0.317555, 0.398932],
  variances: [1.268658e-6, 2.258411e-5, 2.136313e-4, 1.544882e-3, 9.853788e-3, 6.100783e-2, 4.081149e-1, 3.708071],
};

export interface Galaxy {
  x: number;
  y: number;
  /** r-band flux (nmgy) of the whole galaxy. */
  flux: number;
  /** Half-light radius of the disc (pixels); the bulge's is half of it. */
  radius: number;
  /** Axis ratio of the disc and its position angle (radians). */
  axisRatio: number;
  angle: number;
  /** Share of the light in the de Vaucouleurs bulge (1: an elliptical, 0: a pure disc). */
  bulgeFraction: number;
  bulgeColour: Colour;
  discColour: Colour;
}

/**
 * A galaxy of r magnitude `magnitude`: half-light radius shrinking with
 * magnitude (about 2″ at r = 18, 0.7″ at r = 21, 0.15 dex scatter);
 * one in three an elliptical, the rest discs, half of those with a bulge.
 */
export function randomGalaxy(random: Random, x: number, y: number, magnitude: number): Galaxy {
  const radiusArcsec = random.logNormal(2 * 10 ** (-0.15 * (magnitude - 18)), 0.15);
  const kind = random.weighted([1, 1, 1]);
  const bulgeFraction = kind === 0 ? 1 : kind === 1 ? random.uniform(0.15, 0.6) : 0;
  const red = kind === 0 || random.chance(0.2);
  return {
    x,
    y,
    flux: fluxOfMagnitude(magnitude),
    radius: radiusArcsec / PIXEL_SCALE,
    axisRatio: kind === 0 ? random.uniform(0.55, 1) : random.uniform(0.2, 1),
    angle: random.uniform(0, Math.PI),
    bulgeFraction,
    bulgeColour: galaxyColour(random, true),
    discColour: galaxyColour(random, red),
  };
}

/**
 * Draws one Sérsic component convolved with the PSF. Mixture components much
 * narrower than the PSF core are merged first (keeping their flux and second
 * moment): after convolution they are indistinguishable, and it saves most
 * of the drawing for small galaxies.
 */
function drawSersic(scene: Scene, psf: Psf, galaxy: Galaxy, profile: typeof EXPONENTIAL, radius: number, axisRatio: number): void {
  const cos = Math.cos(galaxy.angle);
  const sin = Math.sin(galaxy.angle);
  const limit = 0.1 * psf.core * psf.core;
  let mergedWeight = 0;
  let mergedVariance = 0;
  const parts: [number, number][] = [];
  profile.weights.forEach((w, k) => {
    const v = profile.variances[k] * radius * radius;
    if (v < limit) {
      mergedWeight += w;
      mergedVariance += w * v;
    } else {
      parts.push([w, v]);
    }
  });
  if (mergedWeight > 0) parts.push([mergedWeight, mergedVariance / mergedWeight]);
  const q2 = axisRatio * axisRatio;
  for (const [w, v] of parts) {
    // Rotate diag(v, v q²) by the position angle.
    const cxx = v * (cos * cos + q2 * sin * sin);
    const cyy = v * (sin * sin + q2 * cos * cos);
    const cxy = v * (1 - q2) * cos * sin;
    for (const [pw, ps] of [
      [psf.coreWeight, psf.core],
      [psf.wingWeight, psf.wing],
    ]) {
      scene.gaussian(galaxy.x, galaxy.y, cxx + ps * ps, cxy, cyy + ps * ps, w * pw);
    }
  }
}

export function drawGalaxy(cutout: Cutout, galaxy: Galaxy): void {
  const { scene, conditions } = cutout;
  if (galaxy.bulgeFraction > 0) {
    drawSersic(scene, conditions.psf, galaxy, DE_VAUCOULEURS, galaxy.radius * (galaxy.bulgeFraction === 1 ? 1 : 0.5), Math.min(1, galaxy.axisRatio + 0.3));
    scene.emit(fluxesOf(galaxy.flux * galaxy.bulgeFraction, galaxy.bulgeColour));
  }
  if (galaxy.bulgeFraction < 1) {
    drawSersic(scene, conditions.psf, galaxy, EXPONENTIAL, galaxy.radius, galaxy.axisRatio);
    scene.emit(fluxesOf(galaxy.flux * (1 - galaxy.bulgeFraction), galaxy.discColour));
  }
}

/** A star; its power-law wings are drawn where they would reach a third of the sky noise. */
export function drawStar(cutout: Cutout, x: number, y: number, flux: number, colour: Colour): void {
  drawPointSource(cutout.scene, cutout.conditions.psf, x, y, fluxesOf(flux, colour), cutout.conditions.sky[R] / 3);
}

/** The r-band flux (nmgy) at which a point source here has signal-to-noise 1 in r (against the sky). */
export function unitSignal(cutout: Cutout): number {
  return cutout.conditions.sky[R] * Math.sqrt(noiseEquivalentArea(cutout.conditions.psf));
}

/**
 * Magnitude drawn from number counts rising as 10^(slope·m) between
 * `bright` and `faint` (inverse transform of that exponential density).
 */
function countsMagnitude(random: Random, bright: number, faint: number, slope: number): number {
  const k = slope * Math.LN10;
  const u = random.next();
  return Math.log(Math.exp(k * bright) + u * (Math.exp(k * faint) - Math.exp(k * bright))) / k;
}

/**
 * The field around a candidate: on average 0.5 stars (r 14.5-23.5, counts
 * rising 0.15 dex per magnitude) and 1.6 galaxies (r 17.5-23.5, 0.35 dex per
 * magnitude) per cutout at high latitude, placed anywhere up to 10 pixels
 * outside it, but none within 8 pixels (3″) of the candidate, where they
 * would change what it is.
 */
export function drawField(cutout: Cutout): void {
  const { random } = cutout;
  const place = (): [number, number] => {
    for (;;) {
      const x = random.uniform(-10, SIZE + 10);
      const y = random.uniform(-10, SIZE + 10);
      if (Math.hypot(x - CENTRE, y - CENTRE) >= 8) return [x, y];
    }
  };
  for (let k = random.poisson(0.5); k > 0; k--) {
    const [x, y] = place();
    drawStar(cutout, x, y, fluxOfMagnitude(countsMagnitude(random, 14.5, 23.5, 0.15)), starColour(random));
  }
  for (let k = random.poisson(1.6); k > 0; k--) {
    const [x, y] = place();
    drawGalaxy(cutout, randomGalaxy(random, x, y, countsMagnitude(random, 17.5, 23.5, 0.35)));
  }
}
