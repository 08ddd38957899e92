import { sizeOf, type Tensor } from './backend.ts';

/** A float64 host tensor: the CPU reference kernels' currency. */
export class CpuTensor implements Tensor {
  readonly data: Float64Array;
  constructor(
    readonly shape: readonly number[],
    data?: Float64Array,
  ) {
    const size = sizeOf(shape);
    this.data = data ?? new Float64Array(size);
    if (this.data.length !== size) {
      throw new Error(`CpuTensor: ${this.data.length} values do not fill shape [${shape.join(', ')}]`);
    }
  }
  static from(values: ArrayLike<number>, shape: readonly number[]): CpuTensor {
    return new CpuTensor(shape, Float64Array.from(values));
  }
  get size(): number {
    return this.data.length;
  }
}
