// Concatenation over the last axis and its backward slice on the GPU
// (shaders/columns.wgsl): both are copies of a block of columns.
import { dispatch1d, type Engine, type GpuTensor } from './engine.ts';
import { concatShape, sliceShape } from './shapes.ts';

const WG = 256;

function copyColumns(g: Engine, src: GpuTensor, srcStart: number, dst: GpuTensor, dstStart: number, width: number): void {
  const srcWidth = src.shape[src.shape.length - 1];
  const dstWidth = dst.shape[dst.shape.length - 1];
  const rows = src.size / srcWidth;
  g.run({ shader: 'columns.wgsl', entryPoint: 'copyColumns', workgroupSize: [WG, 1, 1], dispatch: dispatch1d(rows * width, WG), uniforms: [rows, width, srcWidth, srcStart, dstWidth, dstStart] }, [src.buffer, dst.buffer]);
}

export function concatLastAxis(g: Engine, xs: readonly GpuTensor[]): GpuTensor {
  const y = g.empty(concatShape(xs.map((x) => x.shape)));
  let start = 0;
  for (const x of xs) {
    const w = x.shape[x.shape.length - 1];
    copyColumns(g, x, 0, y, start, w);
    start += w;
  }
  return y;
}

export function sliceLastAxis(g: Engine, x: GpuTensor, start: number, width: number): GpuTensor {
  const y = g.empty(sliceShape(x.shape, start, width));
  copyColumns(g, x, start, y, 0, width);
  return y;
}
