// One WebGPU device per test file (vitest forks a process per file).
import { afterAll, beforeAll } from 'vitest';
import { destroyGpu, initGpu, type Gpu } from '../../src/kernels/runtime.ts';

/** Opens the device before the file's tests, with output poisoning on. */
export function useGpu(): () => Gpu {
  let g: Gpu | undefined;
  beforeAll(async () => {
    g = await initGpu();
    g.poisonOutputs = true;
  });
  afterAll(() => destroyGpu());
  return () => g!;
}
