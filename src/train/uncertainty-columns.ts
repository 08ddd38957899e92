// The columns `predict --tta` and `predict --mc-dropout N` add to its CSV
// (src/train/uncertainty.ts computes them): the mean probabilities, named as
// predict's p_<class> columns, their spread and, for MC-dropout, BALD.
import type { Dataset } from '../data/dataset.ts';
import type { Tensor } from '../kernels/backend.ts';
import type { Model } from '../nn/model.ts';
import { FLOAT32_DIGITS } from './scoring.ts';
import { copyStatistics, dihedralCopies, dihedralTransforms, mcDropoutCopies, type Copies } from './uncertainty.ts';

export interface UncertaintyRequest {
  tta: boolean;
  /** MC-dropout passes; 0 for none. */
  passes: number;
  seed: number;
}

/** Images scored per cutout beyond predict's own pass. */
export const uncertaintyWork = (dataset: Dataset, r: UncertaintyRequest): number => (r.tta ? dihedralTransforms(dataset.shape).length : 0) + r.passes;

export interface Columns {
  header: string[];
  cells(i: number): string[];
}

const digits = (values: ArrayLike<number>) => Array.from(values, (v) => v.toPrecision(FLOAT32_DIGITS));

/**
 * The columns for `names` (probabilityColumns' names): tta_p_<class> and
 * tta_std, then mc_p_<class>, mc_std and bald, as requested; `calibrate`
 * treats every copy's probabilities as predict treats its own.
 */
export async function uncertaintyColumns<T extends Tensor>(
  net: Model<T>,
  dataset: Dataset,
  names: readonly string[],
  r: UncertaintyRequest,
  calibrate: (probs: Float32Array) => Float32Array,
  onProgress: (done: number) => void,
): Promise<Columns> {
  const k = net.classes;
  const parts: Columns[] = [];
  const summarise = (c: Copies, prefix: string, withBald: boolean): Columns => {
    const s = copyStatistics({ ...c, probs: calibrate(c.probs) });
    return {
      header: [...names.map((name) => `${prefix}_p_${name}`), `${prefix}_std`, ...(withBald ? ['bald'] : [])],
      cells: (i) => [...digits(s.mean.subarray(i * k, (i + 1) * k)), ...digits([s.std[i], ...(withBald ? [s.bald[i]] : [])])],
    };
  };
  let done = 0;
  if (r.tta) {
    const c = await dihedralCopies(net, dataset, { onProgress });
    done = c.probs.length / k;
    parts.push(summarise(c, 'tta', false));
  }
  if (r.passes > 0) parts.push(summarise(await mcDropoutCopies(net, dataset, r.passes, r.seed, { onProgress: (d) => onProgress(done + d) }), 'mc', true));
  return { header: parts.flatMap((p) => p.header), cells: (i) => parts.flatMap((p) => p.cells(i)) };
}
