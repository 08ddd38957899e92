// One WebGPU engine per test file (vitest forks a process per file).
import { afterAll, beforeAll } from 'vitest';
import { gpuBackend } from '../../src/kernels/gpu-backend.ts';
import type { Backend } from '../../src/kernels/backend.ts';
import type { Engine, EngineOptions, GpuTensor } from '../../src/kernels/engine.ts';
import { openEngine } from '../../src/platform/node/engine.ts';

/** Opens an engine before the file's tests, with output poisoning on unless told otherwise. */
export function useGpu(options: EngineOptions = {}): () => Engine {
  let g: Engine | undefined;
  beforeAll(async () => {
    g = await openEngine({ poisonOutputs: true, ...options });
  });
  afterAll(() => g?.destroy());
  return () => g!;
}

/** The engine's Backend, made once per engine. */
const backends = new WeakMap<Engine, Backend<GpuTensor>>();
export function backendOf(g: Engine): Backend<GpuTensor> {
  let b = backends.get(g);
  if (!b) backends.set(g, (b = gpuBackend(g)));
  return b;
}
