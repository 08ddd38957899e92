// 2-D convolution forward and backward on the GPU as implicit GEMMs: the
// subgroup kernels of shaders/conv2d-subgroups.wgsl where the engine's kernel
// path allows, else the portable ones of shaders/conv2d.wgsl (which also holds
// the packing and reduction kernels). Each entry point takes the path
// explicitly so that tests prove both on one adapter.
import { ceilDiv, dispatch1d, type Engine, type GpuTensor, type KernelPath, type Program } from './engine.ts';
import type { Conv2dOptions } from './backend.ts';
import { convBackwardWindow, denseDims, type Window2d, window2d } from './shapes.ts';

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
  shader: ['conv2d-subgroups.wgsl', 'conv2d-geometry.wgsl'],
  constants: { ...SUBGROUP_BLOCK, LANES: lanes },
  entryPoint,
  workgroupSize: [lanes, 1, 1],
  dispatch: dispatch1d(groups, 1),
  uniforms,
});

const portable = (entryPoint: string, count: number, uniforms: number[]): Program => ({
  shader: ['conv2d.wgsl', 'conv2d-geometry.wgsl'],
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

/** The GEMM's weight operand KH×KW×R4·4×S4·4 (flip: w flipped and transposed, for the input gradient). */
function packWeights(g: Engine, w: GpuTensor, flip: boolean): GpuTensor {
  const [KH, KW, C, F] = w.shape;
  const [R, S] = flip ? [F, C] : [C, F];
  const out = g.empty([KH, KW, round4(R), round4(S)]);
  g.run(portable('packWeights', out.size, [KH, KW, R, S, ceilDiv(R, 4), ceilDiv(S, 4), flip ? 1 : 0]), [w.buffer, out.buffer]);
  return out;
}

/** dy N×Ho×Wo×F spread to N×((Ho − 1)·SH + 1)×((Wo − 1)·SW + 1) with zeros between its pixels, channels padded to a multiple of 4. */
function dilate(g: Engine, dy: GpuTensor, SH: number, SW: number): GpuTensor {
  const [N, Ho, Wo, F] = dy.shape;
  const out = g.empty([N, (Ho - 1) * SH + 1, (Wo - 1) * SW + 1, round4(F)]);
  const pixels = out.size / round4(F);
  g.run(portable('dilate', pixels, [Ho, Wo, SH, SW, pixels, F, round4(F)]), [dy.buffer, out.buffer]);
  return out;
}

/**
 * out N×Ho×Wo×B = bias + the convolution of a (N×H×W×A, H and W those of
 * `win`) with wk (KH×KW×A×B) over the window `win`, A and B multiples of 4:
 * the conv2dForward kernel.
 */
function implicitGemm(g: Engine, a: GpuTensor, wk: GpuTensor, bias: GpuTensor, win: Window2d, path: KernelPath): GpuTensor {
  const [N, , , A] = a.shape;
  const B = wk.shape[3];
  const B4 = B / 4;
  const M = N * win.Ho * win.Wo;
  const uniforms = [N, win.H, win.W, win.Ho, win.Wo, win.KH, win.KW, win.SH, win.SW, win.padTop, win.padLeft, A / 4, B4];
  const lanes = g.lanes(path, 'conv2d');
  const program = lanes
    ? subgroups('conv2dForward', lanes, ceilDiv(B4, lanes) * ceilDiv(M, SUBGROUP_BLOCK.PIXELS), uniforms)
    : portable('conv2dForward', ceilDiv(B4, PORTABLE_BLOCK.COLS) * ceilDiv(M, PORTABLE_BLOCK.PIXELS), uniforms);
  const out = g.empty([N, win.Ho, win.Wo, B]);
  g.run(program, [a.buffer, wk.buffer, out.buffer, bias.buffer]);
  return out;
}

/** x N×H×W×C, w KH×KW×C×F, b F → y N×Ho×Wo×F, with TF's strides and padding (shapes.ts's window2d). */
export function conv2dForward(g: Engine, x: GpuTensor, w: GpuTensor, b: GpuTensor, conv: Conv2dOptions, path = g.kernelPath): GpuTensor {
  const { H, W, C, F, h: KH, w: KW } = denseDims('conv2dForward', [['NHWC', x.shape], ['hwCF', w.shape], ['F', b.shape]]);
  const win = window2d('conv2dForward', H, W, [KH, KW], conv);
  const [xp, padX] = padded(g, x);
  const [bp, padB] = padded(g, b);
  const aligned = C % 4 === 0 && F % 4 === 0;
  const wk = aligned ? w : packWeights(g, w, false);
  const yp = implicitGemm(g, xp, wk, bp, win, path);
  if (padX) xp.dispose();
  if (padB) bp.dispose();
  if (!aligned) wk.dispose();
  if (F % 4 === 0) return yp;
  const y = padChannels(g, yp, F);
  yp.dispose();
  return y;
}

/**
 * dx[n,ih,iw,c] = Σ dy[n,oh,ow,f]·w[kh,kw,c,f] over ih = oh·SH + kh − padTop,
 * iw = ow·SW + kw − padLeft: a stride-1 forward convolution of dy (dilated
 * with SH − 1 zeros between rows and SW − 1 between columns) with w flipped
 * in space and transposed in (c, f), padded by KH − 1 − padTop above and
 * KW − 1 − padLeft on the left, over an H×W output.
 */
export function conv2dBackwardInput(g: Engine, dy: GpuTensor, w: GpuTensor, xShape: readonly number[], conv: Conv2dOptions, path = g.kernelPath): GpuTensor {
  const { H, W, C, h: KH, w: KW } = denseDims('conv2dBackwardInput', [['NHWC', xShape], ['hwCF', w.shape], ['NPQF', dy.shape]]);
  const { SH, SW, padTop, padLeft } = convBackwardWindow('conv2dBackwardInput', xShape, dy.shape, [KH, KW], conv);
  // Under stride 1 the dilation would be a plain copy: padding channels is all it takes.
  const [dyp, copied] = SH === 1 && SW === 1 ? padded(g, dy) : [dilate(g, dy, SH, SW), true];
  const wk = packWeights(g, w, true);
  const zeros = g.upload(new Float32Array(round4(C)), [round4(C)]);
  const [, Hd, Wd] = dyp.shape;
  const win: Window2d = { H: Hd, W: Wd, KH, KW, SH: 1, SW: 1, Ho: H, Wo: W, padTop: KH - 1 - padTop, padLeft: KW - 1 - padLeft };
  const dxp = implicitGemm(g, dyp, wk, zeros, win, path);
  if (copied) dyp.dispose();
  wk.dispose();
  zeros.dispose();
  if (C % 4 === 0) return dxp;
  const dx = padChannels(g, dxp, C);
  dxp.dispose();
  return dx;
}

/** x N×H×W×C, dy N×Ho×Wo×F → dw KH×KW×C×F (kernel = [KH, KW]), db F: sums over the output pixels, in fixed-order chunks. */
export function conv2dBackwardFilter(g: Engine, x: GpuTensor, dy: GpuTensor, kernel: readonly [number, number], conv: Conv2dOptions, path = g.kernelPath): { dw: GpuTensor; db: GpuTensor } {
  const { N, H, W, C, F } = denseDims('conv2dBackwardFilter', [['NHWC', x.shape], ['NPQF', dy.shape]]);
  const { KH, KW, Ho, Wo, SH, SW, padTop, padLeft } = convBackwardWindow('conv2dBackwardFilter', x.shape, dy.shape, kernel, conv);
  const [C4, F4] = [ceilDiv(C, 4), ceilDiv(F, 4)];
  const M = N * Ho * Wo;
  const quads = KH * KW * C4;
  const lanes = g.lanes(path, 'conv2d');
  // Output tiles of one split: workgroups for the subgroup kernels, invocations for the portable one.
  const tiles = lanes ? ceilDiv(F4, lanes) * ceilDiv(quads, SUBGROUP_BLOCK.QUADS) : ceilDiv(F4, PORTABLE_BLOCK.COLS) * ceilDiv(quads, PORTABLE_BLOCK.QUADS);
  const groupsPerSplit = lanes ? tiles : ceilDiv(tiles, WG);
  const wanted = Math.max(1, Math.min(ceilDiv(FILTER_GROUPS, groupsPerSplit), Math.floor(M / FILTER_MIN_CHUNK)));
  const chunk = round4(ceilDiv(M, wanted));
  const splits = ceilDiv(M, chunk);
  const uniforms = [N, H, W, Ho, Wo, KH, KW, SH, SW, padTop, padLeft, C4, F4, chunk];

  const [xp, padX] = padded(g, x);
  const [dyp, padDy] = padded(g, dy);
  const partial = g.empty([splits, quads * 4 + 1, F4 * 4]);
  const program = lanes ? subgroups('conv2dBackwardFilter', lanes, tiles * splits, uniforms) : portable('conv2dBackwardFilter', tiles * splits, uniforms);
  g.run(program, [xp.buffer, dyp.buffer, partial.buffer]);
  const dw = g.empty([KH, KW, C, F]);
  const db = g.empty([F]);
  g.run(portable('reduceFilterPartials', dw.size + F, [KH * KW, C, F, C4, F4, splits]), [partial.buffer, dw.buffer, db.buffer]);
  if (padX) xp.dispose();
  if (padDy) dyp.dispose();
  partial.dispose();
  return { dw, db };
}
