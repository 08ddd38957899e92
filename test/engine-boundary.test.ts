// The engine core (src/kernels, src/nn) is platform-free: no Node built-in,
// no process, no Buffer, no global state. Platform code lives in
// src/platform/node and src/platform/browser; file formats in src/io.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CORE = ['src/kernels', 'src/nn'];
const FORBIDDEN: [RegExp, string][] = [
  [/from\s+['"]node:|import\(\s*['"]node:/, 'a node: import'],
  [/\bprocess\./, 'process'],
  [/\bBuffer\b/, 'Buffer'],
  [/\bglobalThis\b/, 'globalThis'],
  [/from\s+['"](webgpu|h5wasm[^'"]*|pngjs|fs|path|os|crypto|url|util)['"]/, 'a Node-only package'],
];

/** Code lines of a file, comments removed, numbered from 1. */
function codeLines(path: string): [number, string][] {
  const text = readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '));
  return text.split('\n').map((l, i) => [i + 1, l.replace(/\/\/.*$/, '')] as [number, string]);
}

describe('the platform-free engine core', () => {
  for (const folder of CORE) {
    it(`${folder}: no Node built-in, process, Buffer or globalThis`, () => {
      const found: string[] = [];
      for (const file of readdirSync(folder).filter((f) => f.endsWith('.ts'))) {
        for (const [n, line] of codeLines(join(folder, file))) {
          for (const [pattern, what] of FORBIDDEN) if (pattern.test(line)) found.push(`${folder}/${file}:${n}: ${what}: ${line.trim()}`);
        }
      }
      expect(found).toEqual([]);
    });
  }

  it('imports point down: kernels import nothing above them, nn only kernels, neither train, data, io nor platform', () => {
    const above: Record<string, RegExp> = {
      'src/kernels': /from\s+['"]\.\.\/(nn|train|data|io|platform)\//,
      'src/nn': /from\s+['"]\.\.\/(train|data|io|platform)\//,
    };
    const found: string[] = [];
    for (const folder of CORE) {
      for (const file of readdirSync(folder).filter((f) => f.endsWith('.ts'))) {
        for (const [n, line] of codeLines(join(folder, file))) if (above[folder].test(line)) found.push(`${folder}/${file}:${n}: ${line.trim()}`);
      }
    }
    expect(found).toEqual([]);
  });
});
