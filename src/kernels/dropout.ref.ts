// CPU reference for shaders/dropout.wgsl, in float64. The RNG is the shader's
// PCG hash (Jarzynski & Olano, JCGT 2020) in u32 arithmetic: Math.imul for the
// wrapping multiply, >>> 0 to stay unsigned, so the masks match bit for bit.
import { CpuTensor } from './cpu-tensor.ts';
import { assertDropout } from './shapes.ts';

function pcgHash(v: number): number {
  const state = (Math.imul(v, 747796405) + 2891336453) >>> 0;
  const word = Math.imul((state >>> ((state >>> 28) + 4)) ^ state, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

function dropoutBits(seed: number, step: number, i: number): number {
  return pcgHash(pcgHash((pcgHash(seed) ^ step) >>> 0) + i);
}

function applyMask(t: CpuTensor, rate: number, seed: number, step: number): CpuTensor {
  assertDropout(rate, seed, step);
  const threshold = Math.floor(rate * 2 ** 32);
  const out = new CpuTensor(t.shape);
  for (let i = 0; i < t.size; i++) {
    out.data[i] = dropoutBits(seed, step, i) >= threshold ? t.data[i] / (1 - rate) : 0;
  }
  return out;
}

/** x → x·mask/(1 − rate), mask a pure function of (seed, step, element index). */
export function dropoutForward(x: CpuTensor, rate: number, seed: number, step: number): CpuTensor {
  return applyMask(x, rate, seed, step);
}

/** dy → dy·mask/(1 − rate) with the forward's mask (same seed and step). */
export function dropoutBackward(dy: CpuTensor, rate: number, seed: number, step: number): CpuTensor {
  return applyMask(dy, rate, seed, step);
}
