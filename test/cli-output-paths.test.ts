// Bad input found by trying the CLI as a new user would: output paths that
// cannot be written are refused before any work starts, and a negative
// number gets the option's valid range instead of a parser's riddle.
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { initialModel } from '../src/nn/models.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { saveCheckpoint } from '../src/train/checkpoint.ts';
import { errorLines, handscan } from './support/cli.ts';

const dir = await mkdtemp(join(tmpdir(), 'handscan-cli-paths-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const data = join(dir, 'small.hdf5');
const weights = join(dir, 'w.h5');
const aFile = join(dir, 'a-file');

beforeAll(async () => {
  expect((await handscan(['simulate', '--n', '30', '--seed', '1', '--out', data])).code).toBe(0);
  await saveCheckpoint(weights, Sequential.build(initialModel(), cpuBackend, 1), { preprocess: 'scale255' });
  writeFileSync(aFile, 'x');
});

describe('output paths are checked before any work', () => {
  const readOnly = join(dir, 'read-only');
  mkdirSync(readOnly);
  chmodSync(readOnly, 0o500);
  // Root writes anywhere, so the read-only case only holds for other users.
  const asRoot = process.getuid?.() === 0;
  const cases: [string, string[], RegExp][] = [
    ['predict into a missing folder', ['predict', '--weights', weights, '--data', data, '--out', '/missing-folder/x.csv'], /^handscan: predict: --out \/missing-folder\/x\.csv: folder \/missing-folder does not exist$/],
    ['predict onto a folder', ['predict', '--weights', weights, '--data', data, '--out', dir], /is a folder; expected a file name$/],
    ['train under a file', ['train', '--data', data, '--out', join(aFile, 'run'), '--epochs', '1'], /^handscan: train: --out .*a-file\/run: .*a-file is a file; expected a folder$/],
    ['evaluate under a file', ['evaluate', '--weights', weights, '--data', data, '--out', join(aFile, 'report')], /^handscan: evaluate: --out .*is a file; expected a folder$/],
    ['simulate into a missing folder', ['simulate', '--n', '10', '--out', '/missing-folder/s.hdf5'], /folder \/missing-folder does not exist$/],
    ['show into a missing folder', ['show', '--data', data, '--out', '/missing-folder/s.png'], /folder \/missing-folder does not exist$/],
    ...(asRoot ? [] : ([['predict into a read-only folder', ['predict', '--weights', weights, '--data', data, '--out', join(readOnly, 'x.csv')], /is not writable$/]] as [string, string[], RegExp][])),
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: exit 1, one line, and no work done`, async () => {
      const r = await handscan(args);
      expect(r.code, r.stderr).toBe(1);
      expect(errorLines(r), r.stderr).toHaveLength(1);
      expect(errorLines(r)[0]).toMatch(message);
      // Nothing was scored, trained or simulated: the GPU was never opened.
      expect(r.stdout).not.toMatch(/WebGPU adapter|scoring|Epoch|wrote/);
    });
  }
});

describe('negative numbers', () => {
  for (const [args, message] of [
    [['train', '--epochs', '-1'], /^handscan: train: --epochs must be a positive integer, got '-1'$/],
    [['train', '--lr', '-0.5'], /^handscan: train: --lr must be a learning rate in \(0, 10\), got '-0.5'$/],
    [['predict', '--weights', weights, '--data', data, '--out', join(dir, 'p.csv'), '--threshold', '-.2'], /^handscan: predict: --threshold must be a probability in \[0, 1\], got '-.2'$/],
  ] as [string[], RegExp][]) {
    it(`${args.slice(0, 3).join(' ')}: exit 2 and the valid range`, async () => {
      const r = await handscan(args);
      expect(r.code, r.stderr).toBe(2);
      expect(errorLines(r)).toHaveLength(1);
      expect(errorLines(r)[0]).toMatch(message);
    });
  }
});
