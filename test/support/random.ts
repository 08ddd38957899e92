// Random test inputs: a fresh seed every run (printed, so a failure can be
// replayed with HANDSCAN_TEST_SEED=...), never zeros.
import { CpuTensor } from '../../src/kernels/cpu-tensor.ts';
import { mulberry32 } from '../../src/nn/init.ts';

export const TEST_SEED = Number(process.env.HANDSCAN_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** Seedable uniform generator in [0, 1) (the engine's own). */
export const rng = mulberry32;

/** Uniform in [-scale, scale] with |v| ≥ scale/100, so no value is zero. */
export function randomTensor(shape: readonly number[], random: () => number, scale = 1): CpuTensor {
  const t = new CpuTensor(shape);
  for (let i = 0; i < t.size; i++) {
    const m = 0.01 + 0.99 * random();
    t.data[i] = (random() < 0.5 ? -m : m) * scale;
  }
  return t;
}

/** Random one-hot rows: N×classes. */
export function randomOneHot(n: number, classes: number, random: () => number): CpuTensor {
  const t = new CpuTensor([n, classes]);
  for (let i = 0; i < n; i++) t.data[i * classes + Math.floor(random() * classes)] = 1;
  return t;
}
