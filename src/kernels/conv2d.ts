// 2-D convolution forward and backward on the GPU as implicit GEMMs: the
// subgroup kernels of shaders/conv2d-subgroups.wgsl where the adapter has one
// fixed subgroup size of at least 8, else the portable ones of
// shaders/conv2d.wgsl (which also holds the packing and reduction kernels).
import { ceilDiv, dispatch1d, gpu, type GpuTensor, type Program } from './runtime.ts';

export type Conv2dPath = 'subgroups' | 'portable';

/**
 * Which kernels run: 'auto' takes the subgroup kernels where the adapter
 * allows them. Tests set each path in turn, so that the portable one stays
 * proven on an adapter that would never pick it.
 */
export const conv2dOptions: { path: Conv2dPath | 'auto' } = { path: 'auto' };

/** The subgroup size the subgroup kernels run with here, or null where they can't run. */
export function conv2dSubgroupSize(): number | null {
  const sg = gpu().info.subgroups;
  return sg && sg.min === sg.max && sg.min >= 8 ? sg.min : null;
}

/** Lanes of one subgroup workgroup, or null for the portable kernels. */
function subgroupLanes(): number | null {
  const size = conv2dSubgroupSize();
  if (conv2dOptions.path === 'portable') return null;
  if (conv2dOptions.path === 'subgroups' && size === null) {
    throw new Error(`conv2d: the subgroup kernels need one fixed subgroup size ≥ 8; ${gpu().info.name} has ${JSON.stringify(gpu().info.subgroups)}`);
  }
  return size;
}

const WG = 64;
/** Pixels of a subgroup GEMM tile (4 slots of 8 lanes), quads of a subgroup filter tile (one per lane 0-7). */
const SUBGROUP_PIXELS = 32;
const SUBGROUP_QUADS = 8;
/** One portable invocation's block: PIXELS, COLS and QUADS of conv2d.wgsl. */
const PORTABLE_PIXELS = 16;
const PORTABLE_COLS = 2;
const PORTABLE_QUADS = 2;
/** Filter-gradient splits of the pixel reduction: enough workgroups to fill the device, chunks long enough to amortise the partial sums. */
const FILTER_GROUPS = 256;
const FILTER_MIN_CHUNK = 1024;

const portable = (entryPoint: string, count: number, uniforms: number[]): Program => ({
  shader: 'conv2d.wgsl',
  entryPoint,
  workgroupSize: [WG, 1, 1],
  dispatch: dispatch1d(count, WG),
  uniforms,
});

/** t with its last axis padded with zeros (or cropped) to `channels`. */
function padChannels(t: GpuTensor, channels: number): GpuTensor {
  const srcC = t.shape[t.shape.length - 1];
  const rows = t.size / srcC;
  const g = gpu();
  const out = g.empty([...t.shape.slice(0, -1), channels]);
  g.run(portable('padChannels', rows, [rows, srcC, channels]), [t.buffer, out.buffer]);
  return out;
}

const round4 = (n: number): number => ceilDiv(n, 4) * 4;

/** t padded to a multiple of 4 channels, and whether that made a copy. */
function padded(t: GpuTensor): [GpuTensor, boolean] {
  const c = t.shape[t.shape.length - 1];
  return c % 4 === 0 ? [t, false] : [padChannels(t, round4(c)), true];
}

/** The GEMM's weight operand K×K×R4·4×S4·4 (flip: w flipped and transposed, for the input gradient). */
function packWeights(w: GpuTensor, flip: boolean): GpuTensor {
  const [K, , C, F] = w.shape;
  const [R, S] = flip ? [F, C] : [C, F];
  const g = gpu();
  const out = g.empty([K, K, round4(R), round4(S)]);
  g.run(portable('packWeights', out.size, [K, R, S, ceilDiv(R, 4), ceilDiv(S, 4), flip ? 1 : 0]), [w.buffer, out.buffer]);
  return out;
}

/**
 * out N×H×W×B = bias + the 'same' convolution of a (N×H×W×A) with wk
 * (K×K×A×B), A and B multiples of 4: the conv2dForward kernel.
 */
function implicitGemm(a: GpuTensor, wk: GpuTensor, bias: GpuTensor): GpuTensor {
  const [N, H, W, A] = a.shape;
  const [K, , , B] = wk.shape;
  const B4 = B / 4;
  const M = N * H * W;
  const uniforms = [N, H, W, K, A / 4, B4];
  const lanes = subgroupLanes();
  const program: Program = lanes
    ? {
        shader: 'conv2d-subgroups.wgsl',
        entryPoint: 'conv2dForward',
        workgroupSize: [lanes, 1, 1],
        dispatch: dispatch1d(ceilDiv(B4, lanes) * ceilDiv(M, SUBGROUP_PIXELS), 1),
        uniforms,
      }
    : portable('conv2dForward', ceilDiv(B4, PORTABLE_COLS) * ceilDiv(M, PORTABLE_PIXELS), uniforms);
  const g = gpu();
  const out = g.empty([N, H, W, B]);
  g.run(program, [a.buffer, wk.buffer, out.buffer, bias.buffer]);
  return out;
}

export function conv2dForward(x: GpuTensor, w: GpuTensor, b: GpuTensor): GpuTensor {
  const [, , C, F] = w.shape;
  const [xp, padX] = padded(x);
  const [bp, padB] = padded(b);
  const aligned = C % 4 === 0 && F % 4 === 0;
  const wk = aligned ? w : packWeights(w, false);
  const yp = implicitGemm(xp, wk, bp);
  if (padX) xp.dispose();
  if (padB) bp.dispose();
  if (!aligned) wk.dispose();
  if (F % 4 === 0) return yp;
  const y = padChannels(yp, F);
  yp.dispose();
  return y;
}

/**
 * dx[n,h,w,c] = Σ dy[n, h−kh+P, w−kw+P, f]·w[kh,kw,c,f]: a forward
 * convolution of dy with w flipped in space and transposed in (c, f).
 */
export function conv2dBackwardInput(dy: GpuTensor, w: GpuTensor): GpuTensor {
  const C = w.shape[2];
  const g = gpu();
  const [dyp, padDy] = padded(dy);
  const wk = packWeights(w, true);
  const zeros = g.upload(new Float32Array(round4(C)), [round4(C)]);
  const dxp = implicitGemm(dyp, wk, zeros);
  if (padDy) dyp.dispose();
  wk.dispose();
  zeros.dispose();
  if (C % 4 === 0) return dxp;
  const dx = padChannels(dxp, C);
  dxp.dispose();
  return dx;
}

export function conv2dBackwardFilter(x: GpuTensor, dy: GpuTensor, kernelSize: number): { dw: GpuTensor; db: GpuTensor } {
  const [N, H, W, C] = x.shape;
  const F = dy.shape[3];
  const K = kernelSize;
  const [C4, F4] = [ceilDiv(C, 4), ceilDiv(F, 4)];
  const M = N * H * W;
  const quads = K * K * C4;
  const lanes = subgroupLanes();
  // Output tiles of one split: workgroups for the subgroup kernels, invocations for the portable one.
  const tiles = lanes ? ceilDiv(F4, lanes) * ceilDiv(quads, SUBGROUP_QUADS) : ceilDiv(F4, PORTABLE_COLS) * ceilDiv(quads, PORTABLE_QUADS);
  const groupsPerSplit = lanes ? tiles : ceilDiv(tiles, WG);
  const wanted = Math.max(1, Math.min(ceilDiv(FILTER_GROUPS, groupsPerSplit), Math.floor(M / FILTER_MIN_CHUNK)));
  const chunk = round4(ceilDiv(M, wanted));
  const splits = ceilDiv(M, chunk);
  const uniforms = [N, H, W, K, C4, F4, chunk];

  const g = gpu();
  const [xp, padX] = padded(x);
  const [dyp, padDy] = padded(dy);
  const partial = g.empty([splits, quads * 4 + 1, F4 * 4]);
  const program: Program = lanes
    ? {
        shader: 'conv2d-subgroups.wgsl',
        entryPoint: 'conv2dBackwardFilter',
        workgroupSize: [lanes, 1, 1],
        dispatch: dispatch1d(tiles * splits, 1),
        uniforms,
      }
    : portable('conv2dBackwardFilter', tiles * splits, uniforms);
  g.run(program, [xp.buffer, dyp.buffer, partial.buffer]);
  const dw = g.empty([K, K, C, F]);
  const db = g.empty([F]);
  g.run(portable('reduceFilterPartials', dw.size + F, [K, C, F, C4, F4, splits]), [partial.buffer, dw.buffer, db.buffer]);
  if (padX) xp.dispose();
  if (padDy) dyp.dispose();
  partial.dispose();
  return { dw, db };
}
