// What each of the ten classes looks like (REFERENCE.md's descriptions),
// drawn around a candidate at the centre of the cutout. Each scene also has
// an ordinary field of stars and galaxies around it.
//
// Difficulty d (0-1) sets how faint candidates go and how much artefacts
// resemble real sources: the faintest candidates have signal-to-noise
// 8 − 6d in r (5 by default: the detection threshold, where people
// hesitate too), cosmic-ray hits grow from pixel-sharp towards the PSF's
// width, misregistrations get subtler, and more asteroids move slowly
// enough for their three dots to blend into one source.
import { drawPointSource, drawSpikes } from './psf.ts';
import { CENTRE, type BandValues } from './render.ts';
import { badColumn } from './detector.ts';
import { BAND_DELAY_S, EXPOSURE_S, fluxOfMagnitude, G, I, R } from './sdss.ts';
import {
  asteroidColour,
  drawField,
  drawGalaxy,
  drawStar,
  fluxesOf,
  quasarColour,
  randomGalaxy,
  starColour,
  supernovaColour,
  unitSignal,
  type Colour,
  type Cutout,
  type Galaxy,
} from './sources.ts';

/** Candidates are at most this bright (signal-to-noise in r); the density of candidates falls as snr⁻². */
const BRIGHTEST = 300;

/** Signal-to-noise of a candidate: at least `floor`, density ∝ snr⁻² (faint ones are the many). */
function signalToNoise(cutout: Cutout, floor: number): number {
  return floor / (1 - cutout.random.next() * (1 - floor / BRIGHTEST));
}

/** The faintest candidates' signal-to-noise at this difficulty. */
function faintest(cutout: Cutout): number {
  return 8 - 6 * cutout.difficulty;
}

/** r-band flux of a candidate drawn from the survey's brightness distribution. */
function candidateFlux(cutout: Cutout, floor = faintest(cutout)): number {
  return signalToNoise(cutout, floor) * unitSignal(cutout);
}

/** Where the candidate sits: the cutout is centred on its detection, to within half a pixel. */
function candidatePosition(cutout: Cutout): [number, number] {
  return [CENTRE + cutout.random.uniform(-0.5, 0.5), CENTRE + cutout.random.uniform(-0.5, 0.5)];
}

/** Light in one band only (cosmic rays, satellites, defects): the others were exposed at other times. */
function inBand(band: number, flux: number): BandValues {
  return [band === G ? flux : 0, band === R ? flux : 0, band === I ? flux : 0];
}

/** A host galaxy for a supernova: r 17-21.5, a little larger than field galaxies of its brightness. */
function host(cutout: Cutout, x: number, y: number, bright = 17, faint = 21.5): Galaxy {
  const galaxy = randomGalaxy(cutout.random, x, y, cutout.random.uniform(bright, faint));
  galaxy.radius = Math.max(galaxy.radius, 2.5);
  return galaxy;
}

function supernova(cutout: Cutout, x: number, y: number, floor?: number): void {
  drawStar(cutout, x, y, candidateFlux(cutout, floor), supernovaColour(cutout.random));
}

// --- not real -------------------------------------------------------------

/**
 * Artefact: the diffraction spike of a bright star beyond the candidate, a
 * satellite or aircraft trail (in one band: each band is exposed at a
 * different moment), a cosmic-ray hit (one band, sharper than the PSF: at
 * low signal-to-noise a point source to the eye), a defective column, an
 * optical ghost (diffuse, in all bands), or a subtraction residual on a
 * galaxy's nucleus (the scanners saw it in the difference image; in the
 * colour composite it is just a galaxy, as a supernova on its host's centre is).
 */
function artefact(cutout: Cutout): void {
  const { random, scene, conditions } = cutout;
  const psf = conditions.psf;
  drawField(cutout);
  const [x, y] = candidatePosition(cutout);
  const kind = random.weighted([0.2, 0.16, 0.26, 0.1, 0.1, 0.18]);
  if (kind === 0) {
    // A star 18-50 pixels away along a spike, which passes through the candidate.
    const distance = random.uniform(18, 50) * (random.chance(0.5) ? 1 : -1);
    const across = random.uniform(-1, 1);
    const [sx, sy] = random.chance(0.5) ? [x + distance, y + across] : [x + across, y + distance];
    const flux = fluxOfMagnitude(random.uniform(8.5, 11.5));
    const colour = starColour(random);
    drawStar(cutout, sx, sy, flux, colour);
    drawSpikes(scene, psf, sx, sy, fluxesOf(flux, colour), 120);
  } else if (kind === 1) {
    // A trail across the cutout near the candidate, a little out of focus; tumbling satellites flash.
    const angle = random.uniform(0, Math.PI);
    const [ux, uy] = [Math.cos(angle), Math.sin(angle)];
    const offset = random.uniform(-2, 2);
    const width = psf.core * random.uniform(1, 1.6);
    const peak = random.uniform(1.5, 12) * conditions.sky[R];
    const period = random.uniform(6, 25);
    const phase = random.uniform(0, 2 * Math.PI);
    const flashing = random.chance(0.3);
    const brightness = (s: number) => peak * Math.sqrt(2 * Math.PI) * width * (flashing ? 0.5 + 0.5 * Math.sin((2 * Math.PI * s) / period + phase) ** 2 : 1);
    scene.line(x - uy * offset, y + ux * offset, ux, uy, -60, 60, width, brightness);
    scene.emit(inBand(random.int(3), 1));
  } else if (kind === 2) {
    // Most hits are a pixel or two; glancing ones leave short worms.
    const band = random.int(3);
    const flux = candidateFlux(cutout) * random.uniform(0.4, 1);
    if (random.chance(0.65)) {
      const sharpness = random.uniform(0.25, 0.45 + 0.7 * cutout.difficulty);
      scene.round(x, y, sharpness, random.uniform(0.6, 1));
      for (let k = random.int(3); k > 0; k--) scene.pixel(Math.round(x) + random.int(3) - 1, Math.round(y) + random.int(3) - 1, random.uniform(0.05, 0.3));
    } else {
      const angle = random.uniform(0, Math.PI);
      const length = random.uniform(2, 12);
      scene.line(x, y, Math.cos(angle), Math.sin(angle), -length / 2, length / 2, 0.35, () => 1 / length);
    }
    scene.emit(inBand(band, flux));
  } else if (kind === 3) {
    // A hot column through the candidate's pixel, whole or ending at a charge trap.
    const band = random.int(3);
    const column = Math.round(x);
    const level = random.uniform(1.5, 6) * conditions.sky[band];
    const [top, bottom] = random.chance(0.5) ? [0, 68] : random.chance(0.5) ? [0, Math.round(y)] : [Math.round(y), 68];
    badColumn(scene, band, column, top, bottom, level);
    if (random.chance(0.5)) badColumn(scene, band, column + (random.chance(0.5) ? 1 : -1), top, bottom, level * random.uniform(0.2, 0.6));
  } else if (kind === 4) {
    // A ghost: reflected light of a star elsewhere in the focal plane, diffuse, sometimes a ring.
    const width = psf.core * random.uniform(1.4, 4);
    const flux = candidateFlux(cutout) * random.uniform(2, 6);
    scene.round(x, y, width, 1);
    if (random.chance(0.4)) scene.round(x, y, width * 0.5, -0.6);
    scene.emit(fluxesOf(flux, [random.uniform(0.1, 0.6), random.uniform(0, 0.3)]));
  } else {
    drawGalaxy(cutout, host(cutout, x + random.uniform(-0.3, 0.3), y + random.uniform(-0.3, 0.3)));
  }
}

/**
 * Dipole: a bright source misregistered between the new image and the
 * reference. The bands are offset from one another (colour fringes on
 * opposite sides) and the subtraction's residual, equal positive and
 * negative lobes across the offset, is printed on the source.
 */
function dipole(cutout: Cutout): void {
  const { random, scene, conditions } = cutout;
  const psf = conditions.psf;
  drawField(cutout);
  const [x, y] = candidatePosition(cutout);
  const onGalaxy = random.chance(0.4);
  const flux = fluxOfMagnitude(random.uniform(15, 20.5));
  const colour: Colour = onGalaxy ? [random.uniform(0.7, 1.2), random.uniform(0.35, 0.5)] : starColour(random);
  if (onGalaxy) drawGalaxy(cutout, { ...host(cutout, x, y, 16, 19), bulgeFraction: 1 });
  const shift = random.uniform(0.6 - 0.5 * cutout.difficulty, 2.2);
  const angle = random.uniform(0, 2 * Math.PI);
  const [ux, uy] = [Math.cos(angle) * shift, Math.sin(angle) * shift];
  const fluxes = fluxesOf(flux, colour);
  // The bands of the misregistered image: g displaced one way, i the other.
  for (const [band, step] of [
    [G, 0.5],
    [R, 0],
    [I, -0.5],
  ]) {
    drawPointSource(scene, psf, x + ux * step, y + uy * step, inBand(band, fluxes[band]), conditions.sky[R] / 3);
  }
  const residual = random.uniform(0.1, 0.5);
  scene.round(x + ux / 2, y + uy / 2, psf.core, residual);
  scene.round(x - ux / 2, y - uy / 2, psf.core, -residual);
  scene.emit(fluxes);
}

/**
 * Saturated star: r 8.5-13.5, its core flat at the full well, charge bled
 * along the column (saturate() in detector.ts, after the noise), power-law
 * wings and diffraction spikes. Often the detection is on the bleed
 * trail or a spike rather than on the core.
 */
function saturatedStar(cutout: Cutout): void {
  const { random, scene, conditions } = cutout;
  drawField(cutout);
  let [x, y] = candidatePosition(cutout);
  const away = random.uniform(5, 20) * (random.chance(0.5) ? 1 : -1);
  const where = random.weighted([0.6, 0.25, 0.15]);
  x += where === 2 ? away : random.uniform(-2, 2);
  y += where === 1 ? away : random.uniform(-2, 2);
  const flux = fluxOfMagnitude(random.uniform(8.5, 13.5));
  const colour = starColour(random);
  drawStar(cutout, x, y, flux, colour);
  drawSpikes(scene, conditions.psf, x, y, fluxesOf(flux, colour), 120);
}

// --- real -----------------------------------------------------------------

/**
 * An asteroid moving at `speed` pixels per second along (ux, uy), at (x, y)
 * in r: the camera sees it in r, then 72 s later in i, then about 5 minutes
 * later in g, so it shows as three dots of different colours along its path,
 * each trailed by its motion during the exposure.
 */
export function drawAsteroid(cutout: Cutout, x: number, y: number, speed: number, ux: number, uy: number, fluxes: BandValues): void {
  const { scene, conditions } = cutout;
  const psf = conditions.psf;
  const trail = speed * EXPOSURE_S;
  for (const band of [G, R, I]) {
    const along = speed * BAND_DELAY_S[band];
    const [bx, by] = [x + ux * along, y + uy * along];
    if (trail < 0.3) {
      scene.round(bx, by, psf.core, psf.coreWeight);
      scene.round(bx, by, psf.wing, psf.wingWeight);
    } else {
      scene.line(bx, by, ux, uy, -trail / 2, trail / 2, psf.core, () => psf.coreWeight / trail);
      scene.line(bx, by, ux, uy, -trail / 2, trail / 2, psf.wing, () => psf.wingWeight / trail);
    }
    scene.emit(inBand(band, fluxes[band]));
  }
}

/**
 * Moving: an asteroid. Main-belt asteroids near opposition move about
 * 1.3 px per minute, mostly along the ecliptic, which stripe 82 nearly
 * follows; slow ones overlap into one odd-coloured source.
 */
function moving(cutout: Cutout): void {
  const { random } = cutout;
  drawField(cutout);
  const [x, y] = candidatePosition(cutout);
  const speed = Math.max(0.05, random.logNormal(1.3, 0.3 + 0.1 * cutout.difficulty)) / 60;
  const angle = random.chance(0.75) ? random.normal() * 0.35 + (random.chance(0.5) ? 0 : Math.PI) : random.uniform(0, 2 * Math.PI);
  drawAsteroid(cutout, x, y, speed, Math.cos(angle), Math.sin(angle), fluxesOf(candidateFlux(cutout), asteroidColour(random)));
}

/**
 * Variable: a source with a history of variability, star-like: a star on
 * the stellar locus, or a quasar (blue), now and then in a faint host;
 * r 14.5-21.5, from just below saturation to the typical candidate.
 */
function variable(cutout: Cutout): void {
  const { random } = cutout;
  drawField(cutout);
  const [x, y] = candidatePosition(cutout);
  const quasar = random.chance(0.3);
  if (quasar && random.chance(0.3)) drawGalaxy(cutout, host(cutout, x, y, 19.5, 21.5));
  drawStar(cutout, x, y, fluxOfMagnitude(random.uniform(14.5, 21.5)), quasar ? quasarColour(random) : starColour(random));
}

/** Transient: a new point source with no history, no host and no motion; any colour. */
function transient(cutout: Cutout): void {
  const { random } = cutout;
  drawField(cutout);
  const [x, y] = candidatePosition(cutout);
  drawStar(cutout, x, y, candidateFlux(cutout), [random.uniform(-0.3, 1.2), random.uniform(-0.4, 0.6)]);
}

/**
 * SN Other: likely a supernova but fitting no other class: on a host but
 * neither clearly central nor clearly offset, on a barely visible host,
 * between two galaxies, or hostless but fainter than most.
 */
function snOther(cutout: Cutout): void {
  const { random } = cutout;
  drawField(cutout);
  const [x, y] = candidatePosition(cutout);
  const kind = random.weighted([0.35, 0.3, 0.15, 0.2]);
  const around = (distance: number): [number, number] => {
    const angle = random.uniform(0, 2 * Math.PI);
    return [x + distance * Math.cos(angle), y + distance * Math.sin(angle)];
  };
  if (kind === 0) {
    drawGalaxy(cutout, host(cutout, ...around(random.uniform(0.7, 2.2))));
  } else if (kind === 1) {
    drawGalaxy(cutout, host(cutout, ...around(random.uniform(0, 5)), 21.5, 23));
  } else if (kind === 2) {
    drawGalaxy(cutout, host(cutout, ...around(random.uniform(5, 12)), 18, 21.5));
    drawGalaxy(cutout, host(cutout, ...around(random.uniform(5, 12)), 18, 21.5));
  }
  supernova(cutout, x, y, kind === 3 ? faintest(cutout) * 0.8 : undefined);
}

/** SN Bronze: a point-like supernova on its host's centre. */
function snBronze(cutout: Cutout): void {
  const { random } = cutout;
  drawField(cutout);
  const [x, y] = candidatePosition(cutout);
  drawGalaxy(cutout, host(cutout, x + random.uniform(-0.3, 0.3), y + random.uniform(-0.3, 0.3)));
  supernova(cutout, x, y);
}

/** SN Silver: a point-like supernova with no visible host. */
function snSilver(cutout: Cutout): void {
  drawField(cutout);
  const [x, y] = candidatePosition(cutout);
  supernova(cutout, x, y);
}

/** SN Gold: a point-like supernova offset from its host's centre, by 0.4-1.8 half-light radii. */
function snGold(cutout: Cutout): void {
  const { random } = cutout;
  drawField(cutout);
  const [x, y] = candidatePosition(cutout);
  const galaxy = host(cutout, x, y);
  const distance = Math.min(15, Math.max(2.5, galaxy.radius * random.uniform(0.4, 1.8)));
  const angle = random.uniform(0, 2 * Math.PI);
  galaxy.x = x + distance * Math.cos(angle);
  galaxy.y = y + distance * Math.sin(angle);
  drawGalaxy(cutout, galaxy);
  supernova(cutout, x, y);
}

/** Scene of each original class, by class index (labels.ts). */
export const CLASS_SCENES: readonly ((cutout: Cutout) => void)[] = [artefact, dipole, saturatedStar, moving, variable, transient, snOther, snBronze, snSilver, snGold];
