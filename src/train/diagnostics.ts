// Per-epoch diagnostics of a training run, for telling a network that learns
// from one that has stalled (issue 14): per layer, the share of dead ReLU
// units, the gradient's L2 norm and the epoch's update-to-weight ratio. They
// cost one forward and backward pass over one fixed batch (the first samples
// of the validation split), in inference mode so that neither dropout nor
// batch normalisation's moving statistics change anything: the run trains
// exactly as it would without them, and `--resume` repeats them.
import type { Tensor } from '../kernels/backend.ts';
import { LeakyReLU } from '../nn/layers.ts';
import type { Model } from '../nn/model.ts';
import { Tape, Variable } from '../nn/tape.ts';
import type { BatchSource } from './fit.ts';

/** Samples in the fixed batch: enough to call a unit dead, few enough to cost little. */
export const DIAGNOSTIC_BATCH = 16;

export interface LayerDiagnostics {
  /** The Keras layer name (a ReLU is its layer's `<name>/relu`). */
  layer: string;
  /** ReLUs: the share of units (channels of a convolution, columns of a dense layer) whose output is ≤ 0 for every sample and position of the batch. */
  deadReluShare?: number;
  /** Layers with parameters: ‖∂loss/∂θ‖₂ over the layer's parameters on the batch (unweighted loss). */
  gradNorm?: number;
  /** ‖θ_after − θ_before‖₂ / ‖θ_before‖₂ over the epoch's updates. */
  updateRatio?: number;
}

/** Every parameter's values, in model.parameters() order: the "before" of an epoch's update ratio. */
export async function snapshotParameters<T extends Tensor>(model: Model<T>): Promise<Float64Array[]> {
  const out: Float64Array[] = [];
  for (const p of model.parameters()) out.push(await model.backend.toArray(p.value));
  return out;
}

const sumSquares = (a: ArrayLike<number>, b?: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - (b ? b[i] : 0)) ** 2;
  return s;
};

/** The share of a ReLU output's units (its last axis) that are ≤ 0 everywhere in `values`. */
export function deadShare(values: ArrayLike<number>, units: number): number {
  const alive = new Uint8Array(units);
  for (let i = 0; i < values.length; i++) if (values[i] > 0) alive[i % units] = 1;
  return alive.reduce((dead, a) => dead + (1 - a), 0) / units;
}

/** The diagnostics after an epoch that started from parameters `before`. */
export async function diagnose<T extends Tensor>(model: Model<T>, source: BatchSource, before: Float64Array[]): Promise<LayerDiagnostics[]> {
  const b = model.backend;
  const n = Math.min(DIAGNOSTIC_BATCH, source.count);
  const shape = model.inputShape;
  const x = new Float32Array(n * shape.reduce((a, c) => a * c, 1));
  const targets = new Float32Array(n * source.classes);
  source.fill(Uint32Array.from({ length: n }, (_, i) => i), x, targets);
  const tape = new Tape(b);
  const out: LayerDiagnostics[] = [];
  const relus: [string, Variable<T>][] = [];
  const logits = model.forward(tape, new Variable(tape.keep(b.fromArray(x, [n, ...shape])), false), { training: false, step: 0 }, (layer, h) => {
    if (layer instanceof LeakyReLU && layer.alpha === 0) relus.push([layer.name, h]);
  });
  for (const [layer, h] of relus) out.push({ layer, deadReluShare: deadShare(await b.toArray(h.value), h.shape[h.shape.length - 1]) });
  model.loss(tape, logits, tape.keep(b.fromArray(targets, [n, source.classes])));
  tape.backward();
  const params = model.parameters();
  let k = 0;
  for (const layer of model.layers) {
    if (layer.params.length === 0) continue;
    let [grad, delta, weight] = [0, 0, 0];
    let graded = true;
    for (const p of layer.params) {
      const now = await b.toArray(p.value);
      if (p.grad) grad += sumSquares(await b.toArray(p.grad));
      else graded = false;
      delta += sumSquares(now, before[k]);
      weight += sumSquares(before[k]);
      k++;
    }
    out.push({ layer: layer.name, ...(graded ? { gradNorm: Math.sqrt(grad) } : {}), updateRatio: weight === 0 ? 0 : Math.sqrt(delta / weight) });
  }
  tape.reset(params);
  b.flush();
  return out;
}

/** One line per layer, for --verbose. */
export function describeDiagnostics(d: readonly LayerDiagnostics[]): string {
  const fmt = (v: number | undefined, f: (v: number) => string) => (v === undefined ? '' : f(v));
  return d
    .map((l) => `  ${l.layer.padEnd(24)}${fmt(l.deadReluShare, (v) => `dead ReLU ${(100 * v).toFixed(1)}%`)}${fmt(l.gradNorm, (v) => `grad ‖g‖ ${v.toExponential(2)}  `)}${fmt(l.updateRatio, (v) => `‖Δw‖/‖w‖ ${v.toExponential(2)}`)}`)
    .join('\n');
}
