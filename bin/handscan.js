#!/usr/bin/env node
// The `handscan` command: runs src/train/main.ts through tsx's loader.
//
// h5wasm (4 MB of JavaScript with its WebAssembly inlined) is imported before
// tsx's hooks are registered: through them the same import takes seconds
// longer, and once loaded it comes from Node's module cache.
await import('h5wasm/node');
const { register } = await import('tsx/esm/api');
register();
const { cli } = await import('../src/train/main.ts');
await cli(process.argv.slice(2));
