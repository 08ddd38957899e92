// Dense layer forward and backward on the GPU: each product is one GEMM
// (shaders/dense-subgroups.wgsl where the device allows, else dense.wgsl), the
// forward's split-K slices are summed with the bias by denseReduce, and the
// bias gradient is a column sum.
import { ceilDiv, dispatch1d, type Engine, type GpuTensor, type KernelPath, type Program } from './engine.ts';
import { denseDims } from './shapes.ts';

/** C (I×J) = A (I×R) · B (R×J), either operand stored transposed; see dense.wgsl. */
interface Gemm {
  I: number;
  J: number;
  R: number;
  transA: boolean;
  transB: boolean;
}

// Split-K for the forward: slices until about this many workgroups...
const TARGET_WORKGROUPS = 64;
// ...but none shallower than this, or reducing the slices costs more than it gains.
const MIN_CHUNK = 256;
const REDUCE_WG = 256;
/** Rows of a subgroup GEMM tile (8 blocks of 4), compiled into dense-subgroups.wgsl as ROWS; its columns are 4 per lane. */
const SUBGROUP_ROWS = 32;

function tileShape(g: Engine, path: KernelPath): { rows: number; cols: number; workgroupSize: [number, number, number]; constants?: Record<string, number> } {
  const lanes = g.lanes(path, 'dense');
  if (lanes === null) return { rows: 64, cols: 32, workgroupSize: [8, 8, 1] };
  return { rows: SUBGROUP_ROWS, cols: 4 * lanes, workgroupSize: [lanes, 1, 1], constants: { ROWS: SUBGROUP_ROWS, LANES: lanes } };
}

/** Slices of the depth: S slices of `chunk` (a multiple of 4) each. */
function splitDepth(R: number, tiles: number, split: boolean): { S: number; chunk: number } {
  const wanted = split ? Math.min(ceilDiv(TARGET_WORKGROUPS, tiles), Math.floor(R / MIN_CHUNK)) : 1;
  const chunk = 4 * ceilDiv(ceilDiv(R, Math.max(1, wanted)), 4);
  return { S: ceilDiv(R, chunk), chunk };
}

/** Records C = A·B into a new I×J tensor, or S×I×J partial sums when `split`. */
function gemm(g: Engine, m: Gemm, a: GpuTensor, b: GpuTensor, path: KernelPath, split: boolean): GpuTensor {
  const tile = tileShape(g, path);
  const dispatchXY: [number, number] = [ceilDiv(m.J, tile.cols), ceilDiv(m.I, tile.rows)];
  const { S, chunk } = splitDepth(m.R, dispatchXY[0] * dispatchXY[1], split);
  const lda = m.transA ? m.I : m.R;
  const ldb = m.transB ? m.R : m.J;
  const program: Program = {
    shader: path === 'subgroups' ? ['dense.wgsl', 'dense-subgroups.wgsl'] : 'dense.wgsl',
    entryPoint: path === 'subgroups' ? 'gemmSubgroups' : 'gemm',
    workgroupSize: tile.workgroupSize,
    constants: tile.constants,
    overrides: { ALIGNED_A: +(lda % 4 === 0), ALIGNED_B: +(ldb % 4 === 0), TRANS_A: +m.transA, TRANS_B: +m.transB },
    dispatch: [...dispatchXY, S],
    uniforms: [m.I, m.J, m.R, chunk],
  };
  const c = g.empty(split ? [S, m.I, m.J] : [m.I, m.J]);
  g.run(program, [a.buffer, b.buffer, c.buffer]);
  return c;
}

/** x N×K, w K×M, b M → N×M. */
export function denseForward(g: Engine, x: GpuTensor, w: GpuTensor, b: GpuTensor, path = g.kernelPath): GpuTensor {
  const { N, K, M } = denseDims('denseForward', [['NK', x.shape], ['KM', w.shape], ['M', b.shape]]);
  const partial = gemm(g, { I: N, J: M, R: K, transA: false, transB: false }, x, w, path, true);
  const y = g.empty([N, M]);
  g.run(
    { shader: 'dense.wgsl', entryPoint: 'denseReduce', workgroupSize: [REDUCE_WG, 1, 1], dispatch: dispatch1d(N * M, REDUCE_WG), uniforms: [N * M, M, partial.shape[0]] },
    [partial.buffer, b.buffer, y.buffer],
  );
  partial.dispose();
  return y;
}

/** dy N×M, w K×M → dx N×K. */
export function denseBackwardInput(g: Engine, dy: GpuTensor, w: GpuTensor, path = g.kernelPath): GpuTensor {
  const { N, K, M } = denseDims('denseBackwardInput', [['NM', dy.shape], ['KM', w.shape]]);
  return gemm(g, { I: N, J: K, R: M, transA: false, transB: true }, dy, w, path, false);
}

/** x N×K, dy N×M → dw K×M, db M. */
export function denseBackwardWeights(g: Engine, x: GpuTensor, dy: GpuTensor, path = g.kernelPath): { dw: GpuTensor; db: GpuTensor } {
  const { N, K, M } = denseDims('denseBackwardWeights', [['NK', x.shape], ['NM', dy.shape]]);
  const dw = gemm(g, { I: K, J: M, R: N, transA: true, transB: false }, x, dy, path, false);
  const db = g.empty([M]);
  g.run(
    { shader: 'dense.wgsl', entryPoint: 'denseBiasGrad', workgroupSize: [REDUCE_WG, 1, 1], dispatch: [ceilDiv(M, REDUCE_WG), 1, 1], uniforms: [N, M] },
    [dy.buffer, db.buffer],
  );
  return { dw, db };
}
