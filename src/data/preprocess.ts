// Preprocessing as named steps: each turns one cutout triplet or image into a
// float32 image, either a network's input (`scale255`, `braai`, `braai-rows`,
// `none`) or a picture for people (`linear`, `asinh`, `zscale`). PREPROCESS_STEPS
// lists them by name, with a paragraph each, for the CLI
// (`handscan preprocess --list`) and the page. Platform-free: arrays in,
// arrays out.
//
// Layout. A step takes its input as channel planes and gives its output
// interleaved:
// - in: `readonly Plane[]`, one plane per channel, each a row-major
//   [rows, cols] array: pixel (r, c) is `data[r * cols + c]`. A FITS image
//   read by fits.ts (rows along NAXIS2, columns along NAXIS1, as numpy's
//   `hdu.data`) and an alert's Cutout (alerts.ts) are planes as they are; a
//   triplet is [science, reference, difference]; an H×W×C array (a uint8
//   sdss.hdf5 row, a PNG) becomes planes with `planesFromHwc`.
// - out: a `StepImage`, float32 H×W×C (NHWC without the N, as the engine's
//   kernels take it): channel k of pixel (r, c) is `data[(r * W + c) * C + k]`.
//
// NaN (and ±Infinity) are handled explicitly by each step, as its
// description says: `scale255` and `none` reject them; `braai` and `braai-rows` turn NaN
// into 0 (as numpy's nan_to_num in Kowalski) and reject ±Infinity; the
// display stretches leave non-finite pixels out of their limits and show them
// as 0. Every error is a PreprocessError (an InputError) of one line that
// names the step and the channel.
import { InputError } from '../errors.ts';

/** One channel: row-major, pixel (r, c) at `data[r * shape[1] + c]`; `shape` is [rows, cols]. */
export interface Plane {
  data: ArrayLike<number>;
  shape: readonly [number, number];
}

/** A step's result: float32, H×W×C interleaved, channel k of pixel (r, c) at `data[(r * W + c) * C + k]`. */
export interface StepImage {
  data: Float32Array;
  /** [height, width, channels] */
  shape: [number, number, number];
}

/** Bad input to a step (wrong shape or channel count, a forbidden value, an unknown name): one line. */
export class PreprocessError extends InputError {}

/** braai's input is 63×63×3: ZTF's stamp size. */
export const BRAAI_SIZE = 63;
/** What Kowalski's make_triplet pads a smaller stamp with (np.pad, constant_values=1e-9). */
export const BRAAI_PAD = 1e-9;
/** braai's channels, in order: the cutouts of a ZTF alert (Kowalski calls the reference 'template'). */
export const BRAAI_CUTOUTS = ['science', 'reference', 'difference'] as const;

/** The planes of an H×W×C interleaved array (an sdss.hdf5 image, a decoded PNG), as float64 copies. */
export function planesFromHwc(data: ArrayLike<number>, shape: readonly [number, number, number]): Plane[] {
  const [h, w, c] = shape;
  if (![h, w, c].every((n) => Number.isInteger(n) && n >= 1)) {
    throw new PreprocessError(`planesFromHwc: shape [${shape.join(', ')}] must be [height, width, channels], three whole numbers ≥ 1`);
  }
  if (data.length !== h * w * c) {
    throw new PreprocessError(`planesFromHwc: shape [${shape.join(', ')}] needs ${h * w * c} values, got ${data.length}`);
  }
  return Array.from({ length: c }, (_, k) => {
    const plane = new Float64Array(h * w);
    for (let i = 0; i < h * w; i++) plane[i] = data[i * c + k];
    return { data: plane, shape: [h, w] as const };
  });
}

// ---------------------------------------------------------------------------
// Checks shared by the steps.

/** The plane's [rows, cols], checked against its data. */
function checkPlane(step: string, label: string, plane: Plane): [number, number] {
  const shape = plane.shape;
  if (shape.length !== 2 || !shape.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new PreprocessError(`${step}: ${label} has shape [${[...shape].join(', ')}]: expected [rows, cols], two whole numbers ≥ 1`);
  }
  const [rows, cols] = shape;
  if (plane.data.length !== rows * cols) {
    throw new PreprocessError(`${step}: ${label} has shape [${rows}, ${cols}] (${rows * cols} values) but holds ${plane.data.length} values`);
  }
  return [rows, cols];
}

/** Checks every plane and that they share one shape; returns [rows, cols]. */
function checkSameShape(step: string, planes: readonly Plane[]): [number, number] {
  if (planes.length === 0) throw new PreprocessError(`${step}: no channels: expected at least one [rows, cols] plane`);
  const [rows, cols] = checkPlane(step, 'channel 0', planes[0]);
  for (let k = 1; k < planes.length; k++) {
    const [r, c] = checkPlane(step, `channel ${k}`, planes[k]);
    if (r !== rows || c !== cols) {
      throw new PreprocessError(`${step}: channel ${k} is ${r}×${c} but channel 0 is ${rows}×${cols}: every channel must have the same shape`);
    }
  }
  return [rows, cols];
}

const where = (i: number, cols: number) => `row ${Math.floor(i / cols)}, column ${i % cols}`;

/** Interleaves planes of one shape, each through `map` (index → value), into float32 H×W×C. */
function interleave(planes: readonly Plane[], rows: number, cols: number, map: (k: number) => (v: number) => number): StepImage {
  const c = planes.length;
  const out = new Float32Array(rows * cols * c);
  for (let k = 0; k < c; k++) {
    const f = map(k);
    const data = planes[k].data;
    for (let i = 0; i < rows * cols; i++) out[i * c + k] = f(data[i]);
  }
  return { data: out, shape: [rows, cols, c] };
}

// ---------------------------------------------------------------------------
// Network inputs.

/**
 * The paper's x/255: uint8 composites (0..255) to [0, 1], each value
 * `fround(x / 255)` as dataset.ts's batches. Any channel count; values that
 * are not in 0..255 (NaN included) are refused, naming the pixel.
 */
export function scale255(planes: readonly Plane[]): StepImage {
  const [rows, cols] = checkSameShape('scale255', planes);
  planes.forEach((plane, k) => {
    for (let i = 0; i < plane.data.length; i++) {
      const v = plane.data[i];
      if (!(v >= 0 && v <= 255)) {
        throw new PreprocessError(`scale255: channel ${k} has ${v} at ${where(i, cols)}: expected a value in 0..255 (a uint8 composite)`);
      }
    }
  });
  return interleave(planes, rows, cols, () => (v) => v / 255);
}

/**
 * No preprocessing, for data already normalised as the network expects: the
 * planes interleaved to float32 H×W×C, each value rounded to float32. Any
 * size and channel count; a NaN or ±Infinity is refused, naming the pixel.
 */
export function identity(planes: readonly Plane[]): StepImage {
  const [rows, cols] = checkSameShape('none', planes);
  planes.forEach((plane, k) => {
    for (let i = 0; i < plane.data.length; i++) {
      const v = plane.data[i];
      if (!Number.isFinite(v)) throw new PreprocessError(`none: channel ${k} has ${v} at ${where(i, cols)}: expected finite pixels (data already normalised)`);
    }
  });
  return interleave(planes, rows, cols, () => (v) => v);
}

/** How braai's two variants normalise a cutout once its NaNs are 0. */
type BraaiNorm = 'cutout' | 'rows';

/**
 * Kowalski's make_triplet (skyportal/kowalski, kowalski/alert_brokers/
 * alert_broker.py, and braai's nb/braai_run.ipynb with old_norm=False), per
 * cutout in the order science, template (our reference), difference:
 * NaN becomes 0 (np.nan_to_num), the whole cutout is divided by its L2
 * (Frobenius) norm, and a stamp smaller than 63×63 is then padded with 1e-9
 * AFTER its last row and AFTER its last column (np.pad with
 * [(0, 63 - rows), (0, 63 - cols)]), so the stamp keeps the top-left corner
 * and the padding is not normalised; the three go into channels 0, 1, 2.
 *
 * 'rows' is braai's old_norm=True (models up to d6_m7): instead of the
 * cutout's norm, tf.keras.utils.normalize(x) with its defaults (axis -1,
 * order 2), which (keras/utils/np_utils.py) takes the L2 norm of each row,
 * i.e. over the columns of one row of numpy's (rows, cols) FITS array, sets
 * every norm that is 0 to 1 and divides: an all-zero row stays all zero.
 *
 * Kowalski works in float32 (the stamps' BITPIX −32); we sum in float64 and
 * round each result to float32, which differs from numpy by at most about
 * one float32 rounding. Where numpy would go wrong we refuse instead: a
 * cutout that is all 0 after NaN→0 has no norm to divide by (numpy gives
 * NaN everywhere), and nan_to_num would turn ±Infinity into ±3.4e38, whose
 * square overflows the norm.
 */
function braaiTriplet(step: string, planes: readonly Plane[], norm: BraaiNorm): StepImage {
  if (planes.length !== BRAAI_CUTOUTS.length) {
    throw new PreprocessError(`${step}: expected 3 cutouts (science, reference, difference), got ${planes.length}`);
  }
  const size = BRAAI_SIZE;
  const out = new Float32Array(size * size * 3).fill(BRAAI_PAD);
  planes.forEach((plane, k) => {
    const label = `the ${BRAAI_CUTOUTS[k]} cutout`;
    const [rows, cols] = checkPlane(step, label, plane);
    if (rows > size || cols > size) {
      throw new PreprocessError(`${step}: ${label} is ${rows}×${cols}: braai's input is ${size}×${size}, so a cutout may be at most ${size}×${size}`);
    }
    const x = new Float64Array(rows * cols);
    for (let i = 0; i < x.length; i++) {
      const v = plane.data[i];
      if (v === Infinity || v === -Infinity) throw new PreprocessError(`${step}: ${label} has ${v} at ${where(i, cols)}: expected finite pixels or NaN (NaN becomes 0)`);
      x[i] = Number.isNaN(v) ? 0 : v;
    }
    if (norm === 'cutout') {
      let sum = 0;
      for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
      if (sum === 0) {
        throw new PreprocessError(`${step}: ${label} is all 0 (or NaN) so has no L2 norm to divide by (Kowalski's make_triplet would give NaN)`);
      }
      const l2 = Math.sqrt(sum);
      for (let i = 0; i < x.length; i++) x[i] /= l2;
    } else {
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let c = 0; c < cols; c++) sum += x[r * cols + c] ** 2;
        const l2 = sum === 0 ? 1 : Math.sqrt(sum);
        for (let c = 0; c < cols; c++) x[r * cols + c] /= l2;
      }
    }
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[(r * size + c) * 3 + k] = x[r * cols + c];
    }
  });
  return { data: out, shape: [size, size, 3] };
}

/** ZTF's braai input, as Kowalski's make_triplet: see braaiTriplet. Planes: [science, reference, difference], each at most 63×63. */
export function braai(planes: readonly Plane[]): StepImage {
  return braaiTriplet('braai', planes, 'cutout');
}

/** braai's input for models up to d6_m7: each row of each cutout L2-normalised (tf.keras.utils.normalize); see braaiTriplet. */
export function braaiRows(planes: readonly Plane[]): StepImage {
  return braaiTriplet('braai-rows', planes, 'rows');
}

// ---------------------------------------------------------------------------
// Display stretches, each channel on its own, to [0, 1].

/** The finite values of a plane, in order. */
function finiteValues(data: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i])) n++;
  const out = new Float64Array(n);
  n = 0;
  for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i])) out[n++] = data[i];
  return out;
}

/** (x − lo) / (hi − lo) clipped to [0, 1]; 0 where hi = lo or x is not finite. */
function window(lo: number, hi: number): (v: number) => number {
  const span = hi - lo;
  return (v) => (!Number.isFinite(v) || !(span > 0) ? 0 : Math.min(1, Math.max(0, (v - lo) / span)));
}

/** Min–max to [0, 1] per channel, over the finite pixels; a constant channel (or one with none) is 0. */
export function linearStretch(planes: readonly Plane[]): StepImage {
  const [rows, cols] = checkSameShape('linear', planes);
  return interleave(planes, rows, cols, (k) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of finiteValues(planes[k].data)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    return window(lo, hi);
  });
}

export interface AsinhOptions {
  /** Where the stretch turns from linear to logarithmic, as a fraction of the channel's maximum [0.1]. */
  softening?: number;
}

/**
 * Lupton et al.'s asinh stretch, per channel, of sky-subtracted pixels:
 * y = asinh(x / β) / asinh(M / β), with M the channel's largest finite pixel
 * and β = softening · M, clipped to [0, 1]. 0 maps to 0 and M to 1; it is
 * linear for |x| ≪ β and logarithmic above, so faint structure and bright
 * cores both show. Negative pixels (below the sky) clip to 0; non-finite
 * ones are 0; a channel with no positive pixel is all 0.
 */
export function asinhStretch(planes: readonly Plane[], options: AsinhOptions = {}): StepImage {
  const softening = options.softening ?? 0.1;
  if (!(softening > 0 && Number.isFinite(softening))) throw new PreprocessError(`asinh: softening must be a number > 0, got ${softening}`);
  const [rows, cols] = checkSameShape('asinh', planes);
  return interleave(planes, rows, cols, (k) => {
    let top = -Infinity;
    for (const v of finiteValues(planes[k].data)) top = Math.max(top, v);
    if (!(top > 0)) return () => 0;
    const beta = softening * top;
    const scale = Math.asinh(top / beta);
    return (v) => (Number.isFinite(v) ? Math.min(1, Math.max(0, Math.asinh(v / beta) / scale)) : 0);
  });
}

export interface ZScaleOptions {
  /** Pixels sampled [1000]. */
  samples?: number;
  /** The slope's divisor: larger narrows the limits [0.25]. */
  contrast?: number;
  /** If fewer than max(minPixels, maxReject · samples) stay after rejection, the limits are the samples' min and max [0.5]. */
  maxReject?: number;
  /** [5] */
  minPixels?: number;
  /** Rejection threshold, in standard deviations of the residuals [2.5]. */
  krej?: number;
  /** [5] */
  maxIterations?: number;
}

/**
 * IRAF's zscale limits [vmin, vmax] of the finite values, step by step as
 * astropy's ZScaleInterval.get_limits (astropy/visualization/interval.py,
 * after stsci.numdisplay's zscale.py), with its defaults:
 * 1. take every stride-th finite value, stride = max(1, ⌊n / samples⌋),
 *    at most `samples` of them, and sort them;
 * 2. fit a line to them against their rank (least squares over the pixels
 *    not yet rejected), reject those whose residual is beyond krej standard
 *    deviations (population σ of the unrejected residuals), grow every
 *    rejected run by a window of max(1, ⌊npix / 100⌋) ranks (numpy's
 *    convolve 'same'), and repeat until nothing more is rejected, too few
 *    remain, or maxIterations fits are done;
 * 3. if at least max(minPixels, ⌊maxReject · npix⌋) remain, with
 *    slope' = slope / contrast and c = ⌊(npix − 1) / 2⌋:
 *    vmin = max(min, median − (c − 1) · slope'),
 *    vmax = min(max, median + (npix − c) · slope'); else the min and max.
 * Throws if no value is finite.
 */
export function zscaleLimits(values: ArrayLike<number>, options: ZScaleOptions = {}): [number, number] {
  const nSamples = options.samples ?? 1000;
  const contrast = options.contrast ?? 0.25;
  const maxReject = options.maxReject ?? 0.5;
  const minPixels = options.minPixels ?? 5;
  const krej = options.krej ?? 2.5;
  const maxIterations = options.maxIterations ?? 5;
  const finite = finiteValues(values);
  if (finite.length === 0) throw new PreprocessError('zscale: no finite pixel to take limits from');
  const stride = Math.max(1, Math.floor(finite.length / nSamples));
  const npix = Math.min(nSamples, Math.ceil(finite.length / stride));
  const s = new Float64Array(npix);
  for (let i = 0; i < npix; i++) s[i] = finite[i * stride];
  s.sort();
  let vmin = s[0];
  let vmax = s[npix - 1];

  const minpix = Math.max(1, minPixels, Math.floor(npix * maxReject));
  const ngrow = Math.max(1, Math.floor(npix * 0.01));
  // numpy's convolve(mask, ones(ngrow), 'same'): rank i is bad if any rank in [i − (ngrow − 1 − h), i + h] is, h = ⌊(ngrow − 1) / 2⌋.
  const h = Math.floor((ngrow - 1) / 2);
  let bad = new Uint8Array(npix);
  let ngood = npix;
  let lastNgood = npix + 1;
  let slope = NaN;
  for (let it = 0; it < maxIterations; it++) {
    if (ngood >= lastNgood || ngood < minpix) break;
    // Least squares y = a + b·x over the good ranks, about their means.
    let n = 0;
    let sx = 0;
    let sy = 0;
    for (let i = 0; i < npix; i++) {
      if (bad[i]) continue;
      n++;
      sx += i;
      sy += s[i];
    }
    const mx = sx / n;
    const my = sy / n;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < npix; i++) {
      if (bad[i]) continue;
      sxx += (i - mx) ** 2;
      sxy += (i - mx) * (s[i] - my);
    }
    slope = sxx > 0 ? sxy / sxx : 0;
    const flat = (i: number) => s[i] - (my + slope * (i - mx));
    let ss = 0;
    let sr = 0;
    for (let i = 0; i < npix; i++) {
      if (bad[i]) continue;
      sr += flat(i);
    }
    const mr = sr / n;
    for (let i = 0; i < npix; i++) if (!bad[i]) ss += (flat(i) - mr) ** 2;
    const threshold = krej * Math.sqrt(ss / n);
    for (let i = 0; i < npix; i++) {
      const r = flat(i);
      if (r < -threshold || r > threshold) bad[i] = 1;
    }
    if (ngrow > 1) {
      const grown = new Uint8Array(npix);
      for (let i = 0; i < npix; i++) {
        for (let j = Math.max(0, i - (ngrow - 1 - h)); j <= Math.min(npix - 1, i + h); j++) {
          if (bad[j]) {
            grown[i] = 1;
            break;
          }
        }
      }
      bad = grown;
    }
    lastNgood = ngood;
    ngood = 0;
    for (let i = 0; i < npix; i++) if (!bad[i]) ngood++;
  }
  if (ngood >= minpix && !Number.isNaN(slope)) {
    if (contrast > 0) slope /= contrast;
    const center = Math.floor((npix - 1) / 2);
    const median = npix % 2 === 1 ? s[(npix - 1) / 2] : (s[npix / 2 - 1] + s[npix / 2]) / 2;
    vmin = Math.max(vmin, median - (center - 1) * slope);
    vmax = Math.min(vmax, median + (npix - center) * slope);
  }
  return [vmin, vmax];
}

/** IRAF's zscale per channel (zscaleLimits), then (x − vmin) / (vmax − vmin) clipped to [0, 1]; non-finite pixels, and a channel with none finite, are 0. */
export function zscaleStretch(planes: readonly Plane[], options: ZScaleOptions = {}): StepImage {
  const [rows, cols] = checkSameShape('zscale', planes);
  return interleave(planes, rows, cols, (k) => {
    if (finiteValues(planes[k].data).length === 0) return () => 0;
    const [lo, hi] = zscaleLimits(planes[k].data, options);
    return window(lo, hi);
  });
}

// ---------------------------------------------------------------------------
// The registry.

export interface PreprocessStep {
  name: string;
  /** 'network': a model's input; 'display': a picture for people, never fed to a network. */
  kind: 'network' | 'display';
  /** One paragraph: what goes in, what comes out, where it comes from. */
  describe: string;
  apply(planes: readonly Plane[]): StepImage;
}

const steps = [
  {
    name: 'scale255',
    kind: 'network',
    describe:
      'The paper\'s input (Negm 2021): each pixel of a uint8 colour composite (the SDSS-II g, r, i cutouts of sdss.hdf5, or a PNG) divided by 255, to float32 in [0, 1]. Any size and channel count; a value outside 0..255, NaN included, is refused.',
    apply: scale255,
  },
  {
    name: 'braai',
    kind: 'network',
    describe:
      "ZTF's braai input, as Kowalski's make_triplet: for each of the science, reference and difference cutouts, NaN becomes 0 and the cutout is divided by its L2 norm; a stamp smaller than 63×63 (near a CCD's edge) is then padded with 1e-9 after its last row and column; the three become channels 0, 1, 2 of a 63×63×3 float32 image. A stamp larger than 63×63, an infinite pixel, or a cutout with no non-zero pixel is refused.",
    apply: braai,
  },
  {
    name: 'braai-rows',
    kind: 'network',
    describe:
      "braai's input for models up to d6_m7 (old_norm in braai's notebooks): as braai, but each row of each cutout is divided by its own L2 norm, as tf.keras.utils.normalize (axis -1, order 2), where a row whose norm is 0 is divided by 1 and so stays 0; then the same 1e-9 padding to 63×63 and the same channels.",
    apply: braaiRows,
  },
  {
    name: 'none',
    kind: 'network',
    describe:
      'No preprocessing, for data already normalised as the network expects (float images, e.g. a float32 HDF5 file written after its own preprocessing): the channels as they are, interleaved to float32 H×W×C, each value rounded to float32. Any size and channel count; a NaN or infinite pixel is refused, naming it.',
    apply: identity,
  },
  {
    name: 'linear',
    kind: 'display',
    describe:
      'For people, not networks: each channel on its own mapped linearly from its smallest to its largest finite pixel onto [0, 1]. NaN and infinite pixels are left out of the limits and shown as 0, as is a constant channel.',
    apply: linearStretch,
  },
  {
    name: 'asinh',
    kind: 'display',
    describe:
      "For people, not networks: Lupton et al.'s asinh stretch of sky-subtracted pixels, per channel, asinh(x / b) / asinh(M / b) clipped to [0, 1], where M is the channel's brightest pixel and the softening b is 0.1 M: linear for faint pixels, logarithmic for bright ones, 0 staying 0. Negative and non-finite pixels show as 0.",
    apply: (planes) => asinhStretch(planes),
  },
  {
    name: 'zscale',
    kind: 'display',
    describe:
      "For people, not networks: IRAF's zscale, as astropy's ZScaleInterval, per channel: up to 1000 evenly spaced finite pixels are sorted, a line fitted to them with iterative 2.5-sigma rejection, and the limits set around the median at the slope divided by the contrast 0.25, within the data's range; pixels are then mapped linearly from the lower to the upper limit onto [0, 1] and clipped. NaN and infinite pixels show as 0.",
    apply: (planes) => zscaleStretch(planes),
  },
] as const satisfies readonly PreprocessStep[];

export type PreprocessStepName = (typeof steps)[number]['name'];

/** Every step by name, network inputs first: the one list the CLI and the page show. */
export const PREPROCESS_STEPS: Readonly<Record<PreprocessStepName, PreprocessStep>> = Object.freeze(
  Object.fromEntries(steps.map((s) => [s.name, Object.freeze({ ...s })])) as Record<PreprocessStepName, PreprocessStep>,
);

/** The step called `name`, or a one-line error listing the names. */
export function preprocessStep(name: string): PreprocessStep {
  if (!Object.hasOwn(PREPROCESS_STEPS, name)) {
    throw new PreprocessError(`unknown preprocessing step '${name}': expected one of ${Object.keys(PREPROCESS_STEPS).join(', ')}`);
  }
  return PREPROCESS_STEPS[name as PreprocessStepName];
}
