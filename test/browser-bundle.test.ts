// The engine core (src/kernels, src/nn, the browser's platform) bundles for
// the browser with esbuild's browser platform: no Node built-in is reached
// and no Node global is used; so do the file readers the page shares with
// the CLI. No browser is needed for this.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleCore, coreModules, ROOT } from '../scripts/build-web.ts';

describe('the browser bundle', () => {
  it('holds the whole engine core, every shader included, with no Node built-in, process, Buffer or globalThis', async () => {
    const modules = coreModules();
    for (const m of ['src/kernels/engine.ts', 'src/kernels/gpu-backend.ts', 'src/kernels/cpu-backend.ts', 'src/nn/sequential.ts', 'src/nn/models.ts', 'src/platform/browser/engine.ts']) {
      expect(modules).toContain(m);
    }
    const bundle = await bundleCore(modules);
    expect(bundle.match(/\b(process|Buffer|globalThis|require)\b.{0,60}/g), 'Node globals in the core bundle').toBeNull();
    for (const shader of readdirSync(join(ROOT, 'shaders')).filter((f) => f.endsWith('.wgsl'))) expect(bundle).toContain(`"${shader}":`);
  });

  it('holds the readers the page shares with the CLI (checkpoints, surveys, datasets, labels), with no Node built-in, process, Buffer or globalThis', async () => {
    const bundle = await bundleCore(['src/io/keras-hdf5-layout.ts', 'src/data/sdss-hdf5.ts', 'src/data/dataset.ts', 'src/data/labels.ts', 'src/nn/checkpoint-model.ts']);
    expect(bundle.match(/\b(process|Buffer|globalThis|require)\b.{0,60}/g), 'Node globals in the readers\' bundle').toBeNull();
  });

  it('fails on a Node built-in, naming the file that imports it (node: prefixed or bare)', async () => {
    await expect(bundleCore(['src/platform/node/engine.ts'])).rejects.toThrow(/src\/platform\/node\/engine\.ts imports the Node built-in 'node:fs'/);
    // h5wasm's Node build imports 'module' without the prefix.
    await expect(bundleCore(['node_modules/h5wasm/dist/node/hdf5_hl.js'])).rejects.toThrow(/hdf5_util\.js imports the Node built-in 'module'/);
  });
});
