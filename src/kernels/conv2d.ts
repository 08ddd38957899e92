// 2-D convolution forward and backward on the GPU as implicit GEMMs: the
// subgroup kernels of shaders/conv2d-subgroups.wgsl where the engine's kernel
// path allows, else the portable ones of shaders/conv2d.wgsl (which also holds
// the packing and reduction kernels). Each entry point takes the path
// explicitly so that tests prove both on one adapter.
import { ceilDiv, dispatch1d, type Engine, type GpuTensor, type KernelPath, type Program } from './engine.ts';

const WG = 64;
/** Pixels of a subgroup GEMM tile (4 groups of 8 rows) and quads of a subgroup filter tile (one group), compiled into conv2d-subgroups.wgsl as PIXELS and QUADS. */
const SUBGROUP_BLOCK = { PIXELS: 32, QUADS: 8 };
/** One portable invocation's block, compiled into conv2d.wgsl as PIXELS, COLS and QUADS. */
const PORTABLE_BLOCK = { PIXELS: 16, COLS: 2, QUADS: 2 };
/** Filter-gradient splits of the pixel reduction: enough workgroups to fill the device, chunks long enough to amortise the partial sums. */
const FILTER_GROUPS = 256;
const FILTER_MIN_CHUNK = 1024;

/** A subgroup kernel of conv2d-subgroups.wgsl: a workgroup is one subgroup of `lanes`. */
const subgroups = (entryPoint: string, lanes: number, groups: number, uniforms: number[]): Program => ({
  shader: 'conv2d-subgroups.wgsl',
  constants: { ...SUBGROUP_BLOCK, LANES: lanes },
  entryPoint,
  workgroupSize: [lanes, 1, 1],
  dispatch: dispatch1d(groups, 1),
  uniforms,
});

const portable = (entryPoint: string, count: number, uniforms: number[]): Program => ({
  shader: 'conv2d.wgsl',
  constants: PORTABLE_BLOCK,
  entryPoint,
  workgroupSize: [WG, 1, 1],
  dispatch: dispatch1d(count, WG),
  uniforms,
});

/** t with its last axis padded with zeros (or cropped) to `channels`. */
function padChannels(g: Engine, t: GpuTensor, channels: number): GpuTensor {
  const srcC = t.shape[t.shape.length - 1];
  const rows = t.size / srcC;
  const out = g.empty([...t.shape.slice(0, -1), channels]);
  g.run(portable('padChannels', rows, [rows, srcC, channels]), [t.buffer, out.buffer]);
  return out;
}

const round4 = (n: number): number => ceilDiv(n, 4) * 4;

/** t padded to a multiple of 4 channels, and whether that made a copy. */
function padded(g: Engine, t: GpuTensor): [GpuTensor, boolean] {
  const c = t.shape[t.shape.length - 1];
  return c % 4 === 0 ? [t, false] : [padChannels(g, t, round4(c)), true];
}

/** The GEMM's weight operand K×K×R4·4×S4·4 (flip: w flipped and transposed, for the input gradient). */
function packWeights(g: Engine, w: GpuTensor, flip: boolean): GpuTensor {
  const [K, , C, F] = w.shape;
  const [R, S] = flip ? [F, C] : [C, F];
  const out = g.empty([K, K, round4(R), round4(S)]);
  g.run(portable('packWeights', out.size, [K, R, S, ceilDiv(R, 4), ceilDiv(S, 4), flip ? 1 : 0]), [w.buffer, out.buffer]);
  return out;
}

/**
 * out N×H×W×B = bias + the 'same' convolution of a (N×H×W×A) with wk
 * (K×K×A×B), A and B multiples of 4: the conv2dForward kernel.
 */
function implicitGemm(g: Engine, a: GpuTensor, wk: GpuTensor, bias: GpuTensor, path: KernelPath): GpuTensor {
  const [N, H, W, A] = a.shape;
  const [K, , , B] = wk.shape;
  const B4 = B / 4;
  const M = N * H * W;
  const uniforms = [N, H, W, K, A / 4, B4];
  const lanes = g.lanes(path, 'conv2d');
  const program = lanes
    ? subgroups('conv2dForward', lanes, ceilDiv(B4, lanes) * ceilDiv(M, SUBGROUP_BLOCK.PIXELS), uniforms)
    : portable('conv2dForward', ceilDiv(B4, PORTABLE_BLOCK.COLS) * ceilDiv(M, PORTABLE_BLOCK.PIXELS), uniforms);
  const out = g.empty([N, H, W, B]);
  g.run(program, [a.buffer, wk.buffer, out.buffer, bias.buffer]);
  return out;
}

export function conv2dForward(g: Engine, x: GpuTensor, w: GpuTensor, b: GpuTensor, path = g.kernelPath): GpuTensor {
  const [, , C, F] = w.shape;
  const [xp, padX] = padded(g, x);
  const [bp, padB] = padded(g, b);
  const aligned = C % 4 === 0 && F % 4 === 0;
  const wk = aligned ? w : packWeights(g, w, false);
  const yp = implicitGemm(g, xp, wk, bp, path);
  if (padX) xp.dispose();
  if (padB) bp.dispose();
  if (!aligned) wk.dispose();
  if (F % 4 === 0) return yp;
  const y = padChannels(g, yp, F);
  yp.dispose();
  return y;
}

/**
 * dx[n,h,w,c] = Σ dy[n, h−kh+P, w−kw+P, f]·w[kh,kw,c,f]: a forward
 * convolution of dy with w flipped in space and transposed in (c, f).
 */
export function conv2dBackwardInput(g: Engine, dy: GpuTensor, w: GpuTensor, path = g.kernelPath): GpuTensor {
  const C = w.shape[2];
  const [dyp, padDy] = padded(g, dy);
  const wk = packWeights(g, w, true);
  const zeros = g.upload(new Float32Array(round4(C)), [round4(C)]);
  const dxp = implicitGemm(g, dyp, wk, zeros, path);
  if (padDy) dyp.dispose();
  wk.dispose();
  zeros.dispose();
  if (C % 4 === 0) return dxp;
  const dx = padChannels(g, dxp, C);
  dxp.dispose();
  return dx;
}

export function conv2dBackwardFilter(g: Engine, x: GpuTensor, dy: GpuTensor, kernelSize: number, path = g.kernelPath): { dw: GpuTensor; db: GpuTensor } {
  const [N, H, W, C] = x.shape;
  const F = dy.shape[3];
  const K = kernelSize;
  const [C4, F4] = [ceilDiv(C, 4), ceilDiv(F, 4)];
  const M = N * H * W;
  const quads = K * K * C4;
  const lanes = g.lanes(path, 'conv2d');
  // Output tiles of one split: workgroups for the subgroup kernels, invocations for the portable one.
  const tiles = lanes ? ceilDiv(F4, lanes) * ceilDiv(quads, SUBGROUP_BLOCK.QUADS) : ceilDiv(F4, PORTABLE_BLOCK.COLS) * ceilDiv(quads, PORTABLE_BLOCK.QUADS);
  const groupsPerSplit = lanes ? tiles : ceilDiv(tiles, WG);
  const wanted = Math.max(1, Math.min(ceilDiv(FILTER_GROUPS, groupsPerSplit), Math.floor(M / FILTER_MIN_CHUNK)));
  const chunk = round4(ceilDiv(M, wanted));
  const splits = ceilDiv(M, chunk);
  const uniforms = [N, H, W, K, C4, F4, chunk];

  const [xp, padX] = padded(g, x);
  const [dyp, padDy] = padded(g, dy);
  const partial = g.empty([splits, quads * 4 + 1, F4 * 4]);
  const program = lanes ? subgroups('conv2dBackwardFilter', lanes, tiles * splits, uniforms) : portable('conv2dBackwardFilter', tiles * splits, uniforms);
  g.run(program, [xp.buffer, dyp.buffer, partial.buffer]);
  const dw = g.empty([K, K, C, F]);
  const db = g.empty([F]);
  g.run(portable('reduceFilterPartials', dw.size + F, [K, C, F, C4, F4, splits]), [partial.buffer, dw.buffer, db.buffer]);
  if (padX) xp.dispose();
  if (padDy) dyp.dispose();
  partial.dispose();
  return { dw, db };
}
