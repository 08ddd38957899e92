// The simulator: deterministic per seed, each cutout independent of the
// others, and its physics where it can be measured: noise at the set depth,
// flux-conserving PSF and bleed trails, asteroids displaced band by band in
// the camera's order, and a colour-keeping asinh stretch.
import { describe, expect, it } from 'vitest';
import { fitPixelBaseline, scorePixelBaseline } from '../src/data/baseline.ts';
import type { Dataset } from '../src/data/dataset.ts';
import { Random } from '../src/data/random.ts';
import { drawAsteroid } from '../src/data/simulator/classes.ts';
import { composite } from '../src/data/simulator/composite.ts';
import { saturate } from '../src/data/simulator/detector.ts';
import { drawPointSource, psfOfSeeing } from '../src/data/simulator/psf.ts';
import { CENTRE, Scene, SIZE } from '../src/data/simulator/render.ts';
import { BAND_DELAY_S, FULL_WELL, G, I, R } from '../src/data/simulator/sdss.ts';
import { addNoise, drawConditions } from '../src/data/simulator/sky.ts';
import { scaleCounts, simulateCutout, simulateSurvey, CUTOUT_SHAPE, VALUES_PER_IMAGE } from '../src/data/simulator/survey.ts';
import { TEST_SEED } from './support/random.ts';

const balanced = scaleCounts(new Array(10).fill(1), 60);
const options = { seed: TEST_SEED, counts: balanced, difficulty: 0.5 };

/** Flux-weighted centroid of a band. */
function centroid(band: Float32Array): [number, number] {
  let sum = 0;
  let x = 0;
  let y = 0;
  band.forEach((v, p) => {
    sum += v;
    x += v * (p % SIZE);
    y += v * Math.floor(p / SIZE);
  });
  return [x / sum, y / sum];
}

const total = (band: Float32Array) => band.reduce((a, b) => a + b, 0);

describe(`simulator (TEST_SEED=${TEST_SEED})`, () => {
  it('the same seed gives the same bytes; another seed other bytes; counts are honoured', () => {
    const a = simulateSurvey(options);
    const b = simulateSurvey(options);
    const c = simulateSurvey({ ...options, seed: TEST_SEED + 1 });
    expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(Buffer.from(a.images).equals(Buffer.from(c.images))).toBe(false);
    expect(a.images.length).toBe(60 * VALUES_PER_IMAGE);
    const counts = new Array(10).fill(0);
    for (const l of a.labels) counts[l]++;
    expect(counts).toEqual(balanced);
  });

  it('a cutout depends only on (seed, index, class), not on what the scratch scene held before', () => {
    const scene = new Scene();
    const first = new Uint8Array(VALUES_PER_IMAGE);
    const again = new Uint8Array(VALUES_PER_IMAGE);
    simulateCutout(scene, 8, options, 5, first, 0);
    simulateCutout(scene, 2, options, 6, again, 0);
    simulateCutout(scene, 8, options, 5, again, 0);
    expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
  });

  it('every class draws something at the centre that empty sky would not', () => {
    const survey = simulateSurvey({ ...options, counts: scaleCounts(new Array(10).fill(1), 200) });
    const centralLight = new Array(10).fill(0);
    const counts = new Array(10).fill(0);
    survey.labels.forEach((c, i) => {
      for (let y = CENTRE - 3; y <= CENTRE + 3; y++) {
        for (let x = CENTRE - 3; x <= CENTRE + 3; x++) {
          for (let k = 0; k < 3; k++) centralLight[c] += survey.images[i * VALUES_PER_IMAGE + (y * SIZE + x) * 3 + k];
        }
      }
      counts[c]++;
    });
    const scene = new Scene();
    const sky = new Uint8Array(VALUES_PER_IMAGE);
    const random = new Random(TEST_SEED);
    addNoise(scene, drawConditions(random), random);
    composite(scene, sky, 0);
    let skyLight = 0;
    for (let y = CENTRE - 3; y <= CENTRE + 3; y++) for (let x = CENTRE - 3; x <= CENTRE + 3; x++) for (let k = 0; k < 3; k++) skyLight += sky[(y * SIZE + x) * 3 + k];
    centralLight.forEach((light, c) => expect(light / counts[c], `class ${c}`).toBeGreaterThan(1.2 * skyLight));
  });

  it('sky noise has the standard deviation the conditions set, in every band', () => {
    const scene = new Scene();
    const random = new Random(TEST_SEED, 3);
    const conditions = drawConditions(random);
    addNoise(scene, conditions, random);
    scene.bands.forEach((band, b) => {
      const mean = total(band) / band.length;
      const sd = Math.sqrt(band.reduce((a, v) => a + (v - mean) ** 2, 0) / band.length);
      // Six standard errors of a Gaussian sample's mean (σ/√n) and standard deviation (σ/√2n): seeds vary from run to run.
      expect(Math.abs(mean)).toBeLessThan((6 * conditions.sky[b]) / Math.sqrt(band.length));
      expect(Math.abs(sd / conditions.sky[b] - 1)).toBeLessThan(6 / Math.sqrt(2 * band.length));
    });
  });

  it('a point source keeps its flux (less the undrawn faint wings) and has the seeing FWHM', () => {
    const scene = new Scene();
    const psf = psfOfSeeing(1.4);
    drawPointSource(scene, psf, CENTRE, CENTRE, [10, 20, 30], Infinity);
    const drawn = psf.coreWeight + psf.wingWeight;
    scene.bands.forEach((band, b) => expect(total(band) / ((b + 1) * 10)).toBeCloseTo(drawn, 3));
    // Half-maximum width through the peak, interpolated between pixels.
    const row = Array.from({ length: SIZE }, (_, x) => scene.bands[R][CENTRE * SIZE + x]);
    const half = row[CENTRE] / 2;
    let x = CENTRE;
    while (row[x + 1] > half) x++;
    const edge = x + (row[x] - half) / (row[x] - row[x + 1]);
    // Pixel integration widens the profile slightly beyond the seeing's FWHM.
    expect(2 * (edge - CENTRE)).toBeGreaterThan(psf.fwhm);
    expect(2 * (edge - CENTRE)).toBeLessThan(psf.fwhm * 1.06);
  });

  it('saturation keeps every pixel at or below the full well and conserves the charge of a column', () => {
    const scene = new Scene();
    const psf = psfOfSeeing(1.4);
    drawPointSource(scene, psf, CENTRE, CENTRE, [2e4, 2e4, 2e4], Infinity);
    const column = (b: number) => Array.from({ length: SIZE }, (_, y) => scene.bands[b][y * SIZE + CENTRE]);
    const before = [G, R, I].map((b) => column(b).reduce((a, v) => a + v, 0));
    saturate(scene);
    [G, R, I].forEach((b) => {
      expect(Math.max(...scene.bands[b])).toBeLessThanOrEqual(FULL_WELL[b]);
      const after = column(b);
      // The trail reaches neither end of the cutout, so no charge is lost.
      expect(after[0]).toBeLessThan(FULL_WELL[b]);
      expect(after.reduce((a, v) => a + v, 0) / before[b]).toBeCloseTo(1, 4);
      expect(after.filter((v) => v === FULL_WELL[b]).length).toBeGreaterThan(10);
    });
  });

  it('an asteroid is displaced band by band in the order r, i, g, in proportion to the time between exposures', () => {
    const scene = new Scene();
    const random = new Random(TEST_SEED, 100);
    const cutout = { scene, conditions: drawConditions(random), random, difficulty: 0.5 };
    const speed = 1.5 / 60;
    drawAsteroid(cutout, CENTRE, CENTRE, speed, 0.6, 0.8, [1, 1, 1]);
    const [rx, ry] = centroid(scene.bands[R]);
    expect(rx).toBeCloseTo(CENTRE, 3);
    expect(ry).toBeCloseTo(CENTRE, 3);
    for (const b of [G, I]) {
      const [x, y] = centroid(scene.bands[b]);
      expect(x - CENTRE).toBeCloseTo(0.6 * speed * BAND_DELAY_S[b], 2);
      expect(y - CENTRE).toBeCloseTo(0.8 * speed * BAND_DELAY_S[b], 2);
    }
  });

  it('the composite is black on empty sky, keeps colours, and saturates to a full channel', () => {
    const scene = new Scene();
    const out = new Uint8Array(VALUES_PER_IMAGE);
    composite(scene, out, 0);
    expect(out.every((v) => v === 0)).toBe(true);
    scene.bands[G][0] = 0.1;
    scene.bands[R][0] = 0.2;
    scene.bands[I][0] = 0.4;
    scene.bands[G][1] = 1e4;
    scene.bands[R][1] = 1e4;
    scene.bands[I][1] = 3e4;
    composite(scene, out, 0);
    // Same stretch factor for the three channels: red/green = (i·1.0)/(r·1.3).
    expect(out[0] / out[1]).toBeCloseTo(0.4 / (0.2 * 1.3), 1);
    expect(Math.max(out[3], out[4], out[5])).toBe(255);
    expect(out[3]).toBe(255);
  });

  it('the pixel baseline separates cutouts that a linear model can', () => {
    const n = 200;
    const images = new Uint8Array(n * VALUES_PER_IMAGE);
    const labels = new Uint8Array(n);
    const random = new Random(TEST_SEED, 9);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2 === 0 ? 3 : 0;
      for (let v = 0; v < VALUES_PER_IMAGE; v++) images[i * VALUES_PER_IMAGE + v] = random.int(60) + (labels[i] === 3 && v % 3 === 1 ? 40 : 0);
    }
    const dataset: Dataset = { shape: CUTOUT_SHAPE, images, preprocess: 'scale255', labels, scheme: 'original', ids: [], source: 'linear toy' };
    const binary = labels.map((c) => (c >= 3 ? 1 : 0));
    const indices = Array.from({ length: n }, (_, i) => i);
    const model = fitPixelBaseline(dataset, indices.slice(0, 150), binary);
    const scores = scorePixelBaseline(model, dataset, indices.slice(150));
    scores.forEach((p, k) => expect(p >= 0.5 ? 1 : 0).toBe(binary[150 + k]));
  });

  it('the pixel baseline takes the centre of float images of any size as they are (a 5×7×2 window of 5×7×2 images)', () => {
    const n = 120;
    const shape = [5, 7, 2] as const;
    const values = 5 * 7 * 2;
    const random = new Random(TEST_SEED, 11);
    const labels = Uint8Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 3 : 0));
    // Real ones are brighter in channel 1, in float units far from 0..255.
    const images = Float32Array.from({ length: n * values }, (_, v) => 1e-3 * random.int(100) + (labels[Math.floor(v / values)] === 3 && v % 2 === 1 ? 0.05 : 0));
    const dataset: Dataset = { shape, images, preprocess: 'none', labels, scheme: 'original', ids: [], source: 'float toy' };
    const binary = labels.map((c) => (c >= 3 ? 1 : 0));
    const indices = Array.from({ length: n }, (_, i) => i);
    const model = fitPixelBaseline(dataset, indices.slice(0, 90), binary);
    expect(model.mean.length).toBe(values);
    const scores = scorePixelBaseline(model, dataset, indices.slice(90));
    scores.forEach((p, k) => expect(p >= 0.5 ? 1 : 0).toBe(binary[90 + k]));
  });
});
