// Inverted dropout on the GPU (shaders/dropout.wgsl). The mask is never
// stored: backward recomputes it from the same (seed, step), so the autograd
// layer keeps those two numbers instead of a mask tensor.
import { dispatch1d, gpu, type GpuTensor, type Program } from './runtime.ts';

const WG = 256;

function dropoutProgram(n: number, rate: number, seed: number, step: number): Program {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate ${rate} is outside [0, 1)`);
  for (const [name, v] of [['seed', seed], ['step', step]] as const) {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) throw new Error(`dropout: ${name} ${v} is not a u32`);
  }
  return {
    shader: 'dropout.wgsl',
    entryPoint: 'dropout',
    workgroupSize: [WG, 1, 1],
    dispatch: dispatch1d(n, WG),
    // Keep where bits ≥ ⌊rate·2^32⌋: probability 1 − rate (to within 2^-32).
    uniforms: [n, Math.floor(rate * 2 ** 32), { f32: 1 / (1 - rate) }, seed, step],
    // seed and step change every training step.
    dynamicUniforms: true,
  };
}

function applyMask(t: GpuTensor, rate: number, seed: number, step: number): GpuTensor {
  const g = gpu();
  const out = g.empty(t.shape);
  g.run(dropoutProgram(t.size, rate, seed, step), [t.buffer, out.buffer]);
  return out;
}

/** x → x·mask/(1 − rate), mask a pure function of (seed, step, element index). */
export function dropoutForward(x: GpuTensor, rate: number, seed: number, step: number): GpuTensor {
  return applyMask(x, rate, seed, step);
}

/** dy → dy·mask/(1 − rate) with the forward's mask (same seed and step). */
export function dropoutBackward(dy: GpuTensor, rate: number, seed: number, step: number): GpuTensor {
  return applyMask(dy, rate, seed, step);
}
