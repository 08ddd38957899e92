// The browser's side of the engine boundary: navigator.gpu, and the shaders
// bundled as strings by scripts/build-web.ts (esbuild), which resolves
// `handscan:shaders` to every file of shaders/.
import shaders from 'handscan:shaders';
import { createEngine, type Engine, type EngineOptions } from '../../kernels/engine.ts';

/** Opens an engine on the page's WebGPU adapter (needs a secure context: https or localhost). */
export async function openEngine(options: EngineOptions = {}): Promise<Engine> {
  if (!('gpu' in navigator)) throw new Error('this browser has no WebGPU (navigator.gpu): use a recent Chrome, Edge or Firefox, over https or localhost');
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  return createEngine(adapter, shaders, options, 'this browser has WebGPU but no adapter (is hardware acceleration off?)');
}
