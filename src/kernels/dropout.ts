// Inverted dropout on the GPU (shaders/dropout.wgsl). The mask is never
// stored: backward recomputes it from the same (seed, step), so the autograd
// layer keeps those two numbers instead of a mask tensor.
import { assertDropout } from './shapes.ts';
import { dispatch1d, type Engine, type GpuTensor, type Program } from './engine.ts';

const WG = 256;

function dropoutProgram(n: number, rate: number, seed: number, step: number): Program {
  assertDropout(rate, seed, step);
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

function applyMask(g: Engine, t: GpuTensor, rate: number, seed: number, step: number): GpuTensor {
  const out = g.empty(t.shape);
  g.run(dropoutProgram(t.size, rate, seed, step), [t.buffer, out.buffer]);
  return out;
}

/** x → x·mask/(1 − rate), mask a pure function of (seed, step, element index). */
export function dropoutForward(g: Engine, x: GpuTensor, rate: number, seed: number, step: number): GpuTensor {
  return applyMask(g, x, rate, seed, step);
}

/** dy → dy·mask/(1 − rate) with the forward's mask (same seed and step). */
export function dropoutBackward(g: Engine, dy: GpuTensor, rate: number, seed: number, step: number): GpuTensor {
  return applyMask(g, dy, rate, seed, step);
}
