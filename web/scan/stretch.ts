// The display stretches a scanner cycles through with `t`: preprocess.ts's
// linear, asinh and zscale (the same functions `show --stretch` uses), and
// percentile cuts, which map the central 99.5% or 99% of each channel's
// finite pixels onto [0, 1] so that one hot pixel or a bleed trail does not
// flatten the rest. Each channel is stretched on its own.
import { planesFromHwc, PREPROCESS_STEPS, type Plane } from '../../src/data/preprocess.ts';
import type { SampleShape } from '../../src/data/dataset.ts';

export const STRETCHES = ['linear', 'asinh', 'zscale', '99.5%', '99%'] as const;
export type Stretch = (typeof STRETCHES)[number];

export const nextStretch = (s: Stretch): Stretch => STRETCHES[(STRETCHES.indexOf(s) + 1) % STRETCHES.length];

/** The central `share` of a plane's finite values (linearly interpolated ranks, as numpy's percentile), mapped onto [0, 1] and clipped. */
function percentileCut(plane: Plane, share: number): Float32Array {
  const sorted = Float64Array.from(Array.from(plane.data).filter(Number.isFinite)).sort();
  const out = new Float32Array(plane.data.length);
  if (sorted.length === 0) return out;
  const at = (q: number) => {
    const r = q * (sorted.length - 1);
    const lo = Math.floor(r);
    return sorted[lo] + (r - lo) * (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]);
  };
  const lo = at((1 - share) / 2);
  const span = at(1 - (1 - share) / 2) - lo;
  for (let i = 0; i < out.length; i++) {
    const v = plane.data[i];
    out[i] = Number.isFinite(v) && span > 0 ? Math.min(1, Math.max(0, (v - lo) / span)) : 0;
  }
  return out;
}

/** One cutout's pixels (H×W×C interleaved) through `stretch`: H×W×C in [0, 1]. */
export function stretchCutout(pixels: Float32Array, shape: SampleShape, stretch: Stretch): Float32Array {
  const planes = planesFromHwc(pixels, shape);
  if (stretch === 'linear' || stretch === 'asinh' || stretch === 'zscale') return PREPROCESS_STEPS[stretch].apply(planes).data;
  const share = Number.parseFloat(stretch) / 100;
  const cut = planes.map((p) => percentileCut(p, share));
  const c = shape[2];
  const out = new Float32Array(pixels.length);
  cut.forEach((plane, k) => plane.forEach((v, i) => (out[i * c + k] = v)));
  return out;
}
