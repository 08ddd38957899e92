// The named preprocessing steps (src/data/preprocess.ts): exact values the
// paper, Kowalski's make_triplet, tf.keras.utils.normalize and astropy's
// ZScaleInterval give, worked out by hand here; one-line errors; the
// registry and `handscan preprocess --list`.
import { describe, expect, it } from 'vitest';
import {
  asinhStretch,
  braai,
  braaiRows,
  identity,
  BRAAI_PAD,
  linearStretch,
  planesFromHwc,
  PREPROCESS_STEPS,
  PreprocessError,
  preprocessStep,
  scale255,
  zscaleLimits,
  zscaleStretch,
  type Plane,
  type StepImage,
} from '../src/data/preprocess.ts';
import { InputError } from '../src/errors.ts';
import { bundleCore } from '../scripts/build-web.ts';
import { errorLines, handscan } from './support/cli.ts';
import { rng, TEST_SEED } from './support/random.ts';

const plane = (rows: number, cols: number, f: (r: number, c: number) => number): Plane => {
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = f(r, c);
  return { data, shape: [rows, cols] };
};
const at = (img: StepImage, r: number, c: number, k: number) => img.data[(r * img.shape[1] + c) * img.shape[2] + k];
const PAD = Math.fround(BRAAI_PAD);

/** The one-line PreprocessError `f` throws, matched against `pattern`. */
function expectError(f: () => unknown, pattern: RegExp): void {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(error, `expected an error matching ${pattern}`).toBeInstanceOf(PreprocessError);
  expect(error).toBeInstanceOf(InputError);
  const message = (error as Error).message;
  expect(message).toMatch(pattern);
  expect(message).not.toContain('\n');
}

describe('scale255', () => {
  it("is the paper's x/255, exactly as float32, interleaved H×W×C", () => {
    const g = { data: Uint8Array.from([0, 1, 51, 255]), shape: [2, 2] as const };
    const r = { data: Uint8Array.from([128, 254, 2, 3]), shape: [2, 2] as const };
    const out = scale255([g, r]);
    expect(out.shape).toEqual([2, 2, 2]);
    expect(out.data).toBeInstanceOf(Float32Array);
    expect(Array.from(out.data)).toEqual([0, 128, 1, 254, 51, 2, 255, 3].map((v) => Math.fround(v / 255)));
    expect(out.data[6]).toBe(1);
    expect(out.data[4]).toBe(Math.fround(0.2));
  });

  it('reads an H×W×C uint8 composite through planesFromHwc', () => {
    const hwc = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const out = scale255(planesFromHwc(hwc, [4, 3, 3]));
    expect(out.shape).toEqual([4, 3, 3]);
    expect(Array.from(out.data)).toEqual(Array.from(hwc, (v) => Math.fround(v / 255)));
  });

  it('refuses values outside 0..255, NaN and mismatched channels, naming the pixel or channel', () => {
    expectError(() => scale255([plane(2, 3, () => 0), plane(2, 3, (r, c) => (r === 1 && c === 2 ? 256 : 7))]), /^scale255: channel 1 has 256 at row 1, column 2: expected a value in 0\.\.255/);
    expectError(() => scale255([plane(2, 2, (r) => (r === 1 ? NaN : 0))]), /^scale255: channel 0 has NaN at row 1, column 0/);
    expectError(() => scale255([plane(2, 2, () => -1)]), /channel 0 has -1 at row 0, column 0/);
    expectError(() => scale255([plane(2, 2, () => 0), plane(2, 3, () => 0)]), /^scale255: channel 1 is 2×3 but channel 0 is 2×2/);
    expectError(() => scale255([{ data: new Float32Array(5), shape: [2, 3] }]), /^scale255: channel 0 has shape \[2, 3\] \(6 values\) but holds 5 values$/);
    expectError(() => scale255([]), /^scale255: no channels/);
  });
});

describe('none', () => {
  it('gives the planes as they are, interleaved to float32 H×W×C, any channel count', () => {
    const a = { data: Float64Array.from([0.1, -2, 3e5, 1e-9]), shape: [2, 2] as const };
    const b = { data: Float32Array.from([4, 5, 6, 7]), shape: [2, 2] as const };
    const out = identity([a, b]);
    expect(out.shape).toEqual([2, 2, 2]);
    expect(Array.from(out.data)).toEqual([0.1, 4, -2, 5, 3e5, 6, 1e-9, 7].map(Math.fround));
    expect(preprocessStep('none').apply([a, b])).toEqual(out);
    expect(identity(planesFromHwc(Float32Array.from([1, 2, 3]), [1, 1, 3])).data).toEqual(Float32Array.from([1, 2, 3]));
  });

  it('refuses NaN and ±Infinity, naming the pixel, and mismatched channels', () => {
    expectError(() => identity([plane(2, 3, () => 0), plane(2, 3, (r, c) => (r === 1 && c === 2 ? NaN : 1))]), /^none: channel 1 has NaN at row 1, column 2: expected finite pixels/);
    expectError(() => identity([plane(2, 2, (r) => (r === 0 ? -Infinity : 0))]), /^none: channel 0 has -Infinity at row 0, column 0/);
    expectError(() => identity([plane(2, 2, () => 0), plane(3, 2, () => 0)]), /^none: channel 1 is 3×2 but channel 0 is 2×2/);
  });
});

describe("braai (Kowalski's make_triplet)", () => {
  it('puts science, reference and difference in channels 0, 1, 2, each divided by its L2 norm', () => {
    const science = plane(63, 63, (r, c) => (r === 0 && c === 0 ? 5 : 0));
    const reference = plane(63, 63, (r, c) => (r === 1 && c === 2 ? 0.25 : 0));
    const difference = plane(63, 63, (r, c) => (r === 5 && c === 7 ? -3 : 0));
    const out = braai([science, reference, difference]);
    expect(out.shape).toEqual([63, 63, 3]);
    const nonZero = (k: number) => [...Array(63 * 63).keys()].filter((i) => out.data[i * 3 + k] !== 0).map((i) => [Math.floor(i / 63), i % 63, out.data[i * 3 + k]]);
    expect(nonZero(0)).toEqual([[0, 0, 1]]);
    expect(nonZero(1)).toEqual([[1, 2, 1]]);
    expect(nonZero(2)).toEqual([[5, 7, -1]]);
    // A constant stamp of 2s: 2 / sqrt(63² · 4) = 1/63 everywhere.
    const flat = braai([plane(63, 63, () => 2), plane(63, 63, () => -7), plane(63, 63, () => 1e-3)]);
    for (let i = 0; i < 63 * 63; i++) {
      expect(flat.data[i * 3]).toBe(Math.fround(1 / 63));
      expect(flat.data[i * 3 + 1]).toBe(Math.fround(-1 / 63));
      expect(Math.abs(flat.data[i * 3 + 2] - 1 / 63)).toBeLessThan(2e-9); // one float32 step: 1e-3 is not a float32
    }
  });

  it('makes NaN 0 before the norm, and leaves each channel with unit L2 norm', () => {
    const random = rng(TEST_SEED);
    const planes = [0, 1, 2].map((k) => plane(63, 63, (r, c) => (r === 3 && c === k * 10 ? NaN : (random() - 0.3) * 10 ** k)));
    const out = braai(planes);
    for (let k = 0; k < 3; k++) {
      let sum = 0;
      let expectedSum = 0;
      for (let i = 0; i < 63 * 63; i++) {
        sum += out.data[i * 3 + k] ** 2;
        if (!Number.isNaN(planes[k].data[i])) expectedSum += planes[k].data[i] ** 2;
      }
      expect(Math.abs(Math.sqrt(sum) - 1)).toBeLessThan(1e-6);
      expect(at(out, 3, k * 10, k)).toBe(0);
      expect(at(out, 10, 20, k)).toBe(Math.fround(planes[k].data[10 * 63 + 20] / Math.sqrt(expectedSum)));
    }
  });

  it('pads a 61×63 stamp with 1e-9 after its last rows, and a 63×61 one after its last columns, not normalised', () => {
    const science = plane(61, 63, () => 1); // norm sqrt(61·63)
    const reference = plane(63, 61, () => 1);
    const difference = plane(60, 62, (r, c) => r + c + 1);
    const out = braai([science, reference, difference]);
    expect(out.shape).toEqual([63, 63, 3]);
    for (let r = 0; r < 63; r++) {
      for (let c = 0; c < 63; c++) {
        expect(at(out, r, c, 0)).toBe(r < 61 ? Math.fround(1 / Math.sqrt(61 * 63)) : PAD);
        expect(at(out, r, c, 1)).toBe(c < 61 ? Math.fround(1 / Math.sqrt(61 * 63)) : PAD);
        if (r >= 60 || c >= 62) expect(at(out, r, c, 2)).toBe(PAD);
        else expect(at(out, r, c, 2)).toBeGreaterThan(1e-6);
      }
    }
    // The stamp keeps the top-left corner: its first and last pixels.
    let norm = 0;
    for (const v of Array.from(difference.data)) norm += v * v;
    expect(at(out, 0, 0, 2)).toBe(Math.fround(1 / Math.sqrt(norm)));
    expect(at(out, 59, 61, 2)).toBe(Math.fround(121 / Math.sqrt(norm)));
    expect(PAD).toBe(Math.fround(1e-9));
  });

  it('refuses the wrong channel count, a stamp larger than 63×63, an infinite pixel and an all-zero cutout, in one line', () => {
    const ok = plane(63, 63, () => 1);
    expectError(() => braai([ok, ok]), /^braai: expected 3 cutouts \(science, reference, difference\), got 2$/);
    expectError(() => braai([ok, ok, plane(64, 63, () => 1)]), /^braai: the difference cutout is 64×63: braai's input is 63×63, so a cutout may be at most 63×63$/);
    expectError(() => braaiRows([plane(63, 70, () => 1), ok, ok]), /^braai-rows: the science cutout is 63×70/);
    expectError(() => braai([ok, plane(63, 63, (r) => (r === 4 ? -Infinity : 1)), ok]), /^braai: the reference cutout has -Infinity at row 4, column 0/);
    expectError(() => braai([plane(63, 63, () => NaN), ok, ok]), /^braai: the science cutout is all 0 \(or NaN\) so has no L2 norm/);
    expectError(() => braai([ok, ok, { data: new Float32Array(10), shape: [63, 63] }]), /^braai: the difference cutout has shape \[63, 63\] \(3969 values\) but holds 10 values$/);
    expectError(() => braai([ok, ok, { data: new Float32Array(0), shape: [0, 63] }]), /^braai: the difference cutout has shape \[0, 63\]: expected \[rows, cols\]/);
  });
});

describe('braai-rows (tf.keras.utils.normalize, axis −1)', () => {
  it('normalises each row of a 3×3 cutout as worked by hand, zero rows staying zero, then pads', () => {
    // Rows [3, 4, NaN] → [0.6, 0.8, 0] (norm 5); [0, 0, 0] → divided by 1; [1, -2, 2] → thirds (norm 3).
    const x = [3, 4, NaN, 0, 0, 0, 1, -2, 2];
    const cut = { data: Float64Array.from(x), shape: [3, 3] as const };
    const other = { data: Float64Array.from([0, 0, 2, 0, 0, 0, 0, 0, 0]), shape: [3, 3] as const };
    const out = braaiRows([cut, other, cut]);
    const expected = [0.6, 0.8, 0, 0, 0, 0, 1 / 3, -2 / 3, 2 / 3].map(Math.fround);
    for (const k of [0, 2]) {
      for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) expect(at(out, r, c, k)).toBe(expected[r * 3 + c]);
    }
    expect([0, 1, 2].map((c) => at(out, 0, c, 1))).toEqual([0, 0, 1]);
    expect([0, 1, 2].map((c) => at(out, 1, c, 1))).toEqual([0, 0, 0]);
    for (let r = 0; r < 63; r++) for (let c = 0; c < 63; c++) if (r >= 3 || c >= 3) expect(at(out, r, c, 0)).toBe(PAD);
    // The whole-cutout braai of the same stamp divides by sqrt(9 + 16 + 1 + 4 + 4) instead.
    const whole = braai([cut, other, cut]);
    expect(at(whole, 2, 1, 0)).toBe(Math.fround(-2 / Math.sqrt(34)));
    expect(at(whole, 0, 2, 1)).toBe(1);
  });

  it('gives every non-zero row of every channel unit L2 norm, an all-zero cutout staying zero', () => {
    const random = rng(TEST_SEED + 1);
    const planes = [plane(63, 63, () => random() * 100), plane(62, 63, (r) => (r === 7 ? 0 : random() - 0.5)), plane(63, 63, () => 0)];
    const out = braaiRows(planes);
    for (let k = 0; k < 3; k++) {
      for (let r = 0; r < 62; r++) {
        let sum = 0;
        for (let c = 0; c < 63; c++) sum += at(out, r, c, k) ** 2;
        if (k === 2 || (k === 1 && r === 7)) expect(sum).toBe(0);
        else expect(Math.abs(Math.sqrt(sum) - 1)).toBeLessThan(1e-6);
      }
    }
    for (let c = 0; c < 63; c++) expect(at(out, 62, c, 1)).toBe(PAD);
  });
});

describe("zscale (IRAF's, as astropy's ZScaleInterval)", () => {
  // 100 sorted samples: 3 at -1e4, then 1000 + x/8 at ranks x = 3..96, then 3 at +1e4.
  // The outliers are rejected, the line through the rest has slope 1/8 exactly; with
  // contrast 0.25 the slope is 0.5, the median (ranks 49 and 50) 1000 + 49.5/8 and
  // the centre rank ⌊99/2⌋ = 49, so vmin = median − 48·0.5 and vmax = median + 51·0.5.
  const ramp = Array.from({ length: 100 }, (_, x) => (x < 3 ? -1e4 : x > 96 ? 1e4 : 1000 + x / 8));
  const median = 1000 + 49.5 / 8;

  it('fits a line with rejection to a ramp with outliers: limits worked by hand', () => {
    expect(zscaleLimits(ramp)).toEqual([median - 24, median + 25.5]);
    // Pixel order does not matter (the samples are sorted); NaN and ±Infinity are left out before sampling.
    const random = rng(TEST_SEED + 2);
    const shuffled = [...ramp].sort(() => random() - 0.5);
    expect(zscaleLimits(shuffled)).toEqual([median - 24, median + 25.5]);
    expect(zscaleLimits([NaN, ...shuffled.slice(0, 50), Infinity, -Infinity, ...shuffled.slice(50), NaN])).toEqual([median - 24, median + 25.5]);
    // A larger contrast narrows them: slope 1/8 / 0.5 = 0.25.
    expect(zscaleLimits(ramp, { contrast: 0.5 })).toEqual([median - 12, median + 12.75]);
  });

  it('samples every ⌊n/1000⌋-th finite pixel, at most 1000: a 63×63 stamp uses pixels 0, 3, …, 2997', () => {
    // Sampled: 10 low outliers, 1000 + x/8 at ranks 10..989, 10 high outliers; every other pixel is 1e9
    // and would pull vmax to it if sampled. npix 1000: centre 499, median 1000 + 499.5/8, slope 0.5.
    const data = new Float64Array(63 * 63).fill(1e9);
    for (let k = 0; k < 1000; k++) data[3 * k] = k < 10 ? -1e4 : k > 989 ? 1e4 : 1000 + k / 8;
    const m = 1000 + 499.5 / 8;
    expect(zscaleLimits(data)).toEqual([m - 498 * 0.5, m + 501 * 0.5]);
  });

  it('falls back to the min and max when too few pixels are left', () => {
    expect(zscaleLimits([5, 1, 3, 2])).toEqual([1, 5]); // 4 samples < min_npixels 5
    expectError(() => zscaleLimits([NaN, Infinity]), /^zscale: no finite pixel/);
  });

  it('maps the limits to 0 and 1 per channel, clips beyond them, and shows NaN as 0', () => {
    const values = [...ramp];
    values[50] = NaN; // rank 50 gone: the limits change, so use them as computed
    const [lo, hi] = zscaleLimits(values);
    const out = zscaleStretch([{ data: Float64Array.from(values), shape: [10, 10] }, { data: Float64Array.from(ramp), shape: [10, 10] }]);
    expect(out.shape).toEqual([10, 10, 2]);
    expect(at(out, 5, 0, 0)).toBe(0);
    expect(at(out, 0, 0, 0)).toBe(0);
    expect(at(out, 9, 9, 0)).toBe(1);
    expect(at(out, 2, 0, 0)).toBe(Math.fround((values[20] - lo) / (hi - lo)));
    expect(at(out, 2, 0, 1)).toBe(Math.fround((ramp[20] - (median - 24)) / 49.5));
  });
});

describe('display stretches', () => {
  it('linear: min to 0, max to 1, per channel; NaN and a constant channel are 0', () => {
    const out = linearStretch([{ data: [2, 4, NaN, 10], shape: [2, 2] }, { data: [3, 3, 3, 3], shape: [2, 2] }]);
    expect(Array.from(out.data)).toEqual([0, 0, 0.25, 0, 0, 0, 1, 0]);
  });

  it('asinh: 0 to 0, the maximum to 1, monotonic, linear below the softening and compressed above', () => {
    const xs = Array.from({ length: 301 }, (_, i) => -50 + i * 0.5); // -50 … 100
    const out = asinhStretch([{ data: xs, shape: [1, xs.length] }]);
    const y = Array.from(out.data);
    expect(y[xs.indexOf(0)]).toBe(0);
    expect(y[y.length - 1]).toBe(1);
    for (let i = 1; i < y.length; i++) expect(y[i]).toBeGreaterThanOrEqual(y[i - 1]);
    expect(y.filter((v, i) => xs[i] > 0 && !(v > y[i - 1])).length).toBe(0); // strictly above 0
    expect(y[0]).toBe(0); // below the sky clips to 0
    // Softening 0.1 of the maximum 100: y(10) = asinh(1) / asinh(10), far above the linear 0.1.
    expect(y[xs.indexOf(10)]).toBeCloseTo(Math.asinh(1) / Math.asinh(10), 6);
    const softer = asinhStretch([{ data: xs, shape: [1, xs.length] }], { softening: 1 });
    expect(softer.data[xs.indexOf(10)]).toBeLessThan(y[xs.indexOf(10)]);
    expectError(() => asinhStretch([{ data: xs, shape: [1, xs.length] }], { softening: 0 }), /^asinh: softening must be a number > 0, got 0$/);
  });
});

describe('the registry', () => {
  it('names every step once, network inputs first, each with a paragraph and an apply', () => {
    expect(Object.keys(PREPROCESS_STEPS)).toEqual(['scale255', 'braai', 'braai-rows', 'none', 'linear', 'asinh', 'zscale']);
    for (const [name, step] of Object.entries(PREPROCESS_STEPS)) {
      expect(step.name).toBe(name);
      expect(step.describe.length).toBeGreaterThan(100);
      expect(step.describe).not.toContain('\n');
      expect(preprocessStep(name)).toBe(step);
    }
    expect(Object.values(PREPROCESS_STEPS).map((s) => s.kind)).toEqual(['network', 'network', 'network', 'network', 'display', 'display', 'display']);
    const cut = plane(63, 63, (r, c) => r - c);
    expect(preprocessStep('braai-rows').apply([cut, cut, cut])).toEqual(braaiRows([cut, cut, cut]));
    expect(preprocessStep('zscale').apply([cut]).shape).toEqual([63, 63, 1]);
  });

  it('refuses an unknown name in one line that lists the names', () => {
    expectError(() => preprocessStep('braai2'), /^unknown preprocessing step 'braai2': expected one of scale255, braai, braai-rows, none, linear, asinh, zscale$/);
    expectError(() => preprocessStep('toString'), /^unknown preprocessing step 'toString'/);
  });

  it('is platform-free: it bundles for the browser with no Node built-in or global', async () => {
    const bundle = await bundleCore(['src/data/preprocess.ts']);
    expect(bundle.match(/\b(process|Buffer|globalThis|require)\b.{0,60}/g)).toBeNull();
    expect(bundle).toContain('braai-rows');
  });
});

describe('handscan preprocess', () => {
  it('--list prints every step with its kind and description', async () => {
    const r = await handscan(['preprocess', '--list']);
    expect(r.code, r.stderr).toBe(0);
    for (const step of Object.values(PREPROCESS_STEPS)) {
      expect(r.stdout).toMatch(new RegExp(`^${step.name} \\((network input|display stretch, for people)\\)$`, 'm'));
      expect(r.stdout.replace(/\s+/g, ' ')).toContain(step.describe);
    }
    for (const line of r.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('--help names the steps; no --list is a usage error in one line', async () => {
    const help = await handscan(['preprocess', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('scale255, braai, braai-rows');
    const r = await handscan(['preprocess']);
    expect(r.code).toBe(2);
    expect(errorLines(r)).toEqual(['handscan: preprocess: nothing to do: pass --list to describe the steps (see `handscan preprocess --help`)']);
    const top = await handscan(['--help']);
    expect(top.stdout).toMatch(/^ {2}preprocess +describe the named preprocessing steps/m);
  });
});
