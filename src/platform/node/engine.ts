// Node's side of the engine boundary: Dawn (the `webgpu` package) as the
// WebGPU implementation, and the shaders read from the repository's shaders/.
// Everything under src/kernels and src/nn is platform-free; this is where they
// meet the process.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, globals } from 'webgpu';
import { createEngine, type Engine, type EngineOptions, type ShaderSources } from '../../kernels/engine.ts';

const SHADER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shaders');

/** Every .wgsl file of shaders/, by file name. */
export function readShaders(dir = SHADER_DIR): ShaderSources {
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.wgsl'))
      .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
  );
}

// Dawn crashes once the object from create() is garbage-collected, so each
// instance stays reachable here for the life of the process.
const instances: GPU[] = [];
let shaders: ShaderSources | undefined;

/**
 * Opens an engine on Dawn's high-performance adapter. Throws a clear error,
 * never hangs, when there is none. Call `engine.destroy()` when done: the
 * process cannot exit while a device is alive.
 */
export async function openEngine(options: EngineOptions = {}): Promise<Engine> {
  ensureRuntimeDir();
  // Dawn's own code reads GPUBufferUsage and friends as globals.
  Object.assign(globalThis, globals);
  const instance = create([]);
  instances.push(instance);
  const adapter = await Promise.race([
    instance.requestAdapter({ powerPreference: 'high-performance' }),
    new Promise<null>((r) => setTimeout(() => r(null), 30_000).unref()),
  ]);
  shaders ??= readShaders();
  return createEngine(adapter, shaders, { ...faultsFromEnvironment(), ...options }, 'run `npm run setup` (installs Mesa lavapipe on Debian/Ubuntu) or install a Vulkan GPU driver');
}

/**
 * HANDSCAN_DESTROY_DEVICE_AFTER=N destroys the device after N submits: how
 * the CLI tests provoke a lost device in a real run.
 */
function faultsFromEnvironment(): EngineOptions {
  const n = process.env.HANDSCAN_DESTROY_DEVICE_AFTER;
  return n ? { destroyDeviceAfterSubmits: Number(n) } : {};
}

/** Dawn complains unless XDG_RUNTIME_DIR names a writable folder. */
function ensureRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  const dir = join(tmpdir(), `handscan-xdg-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}
