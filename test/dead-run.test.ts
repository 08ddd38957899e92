// A training run that goes dead stops with one line instead of finishing
// quietly: under Keras 2.2's clipped loss a large step drives every output
// into the probability clip, where every gradient is zero; from the logits,
// the default, the same run keeps learning.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = await mkdtemp(join(tmpdir(), 'handscan-dead-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const data = join(dir, 'fifty.hdf5');
/** 25 training cutouts, batches of 8, and a learning rate 10× Keras's: dead from epoch 2 under the clip. */
const SETTINGS = ['--data', data, '--batch-size', '8', '--lr', '0.01', '--epochs', '4', '--seed', '1'];

function handscan(args: string[]): { code: number | null; stdout: string; errors: string[] } {
  const r = spawnSync(process.execPath, ['bin/handscan.js', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, errors: r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning: ')) };
}

beforeAll(() => {
  const r = handscan(['simulate', '--n', '50', '--seed', '5', '--out', data]);
  expect(r.code, r.errors.join('\n')).toBe(0);
});

describe('a training run that goes dead', () => {
  const dead = /^handscan: training went dead at epoch 2: every output sits at the probability clip, where --loss keras2-clipped has no gradient \(loss \d+\.\d{4}\); lower --lr or use --loss logits$/;

  it('--loss keras2-clipped: stops at epoch 2 with one line and exit 1, and --resume keeps the loss (and stops again)', () => {
    const out = join(dir, 'clipped');
    const r = handscan(['train', ...SETTINGS, '--loss', 'keras2-clipped', '--out', out]);
    expect(r.stdout).toMatch(/^loss +Keras 2\.2's cross-entropy, probabilities clipped/m);
    expect(r.errors, r.stdout).toHaveLength(1);
    expect(r.errors[0]).toMatch(dead);
    expect(r.code).toBe(1);
    const resumed = handscan(['train', '--resume', '--out', out]);
    expect(resumed.stdout).toMatch(/^resuming .* after epoch 1$/m);
    expect(resumed.stdout).toMatch(/^loss +Keras 2\.2's cross-entropy, probabilities clipped/m);
    expect(resumed.errors).toEqual(r.errors);
    expect(resumed.code).toBe(1);
  });

  it('the default loss, from the logits: the same run trains every epoch, its loss still moving', () => {
    const r = handscan(['train', ...SETTINGS, '--out', join(dir, 'logits')]);
    expect(r.errors, r.stdout).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^loss +cross-entropy from the logits/m);
    const losses = [...r.stdout.matchAll(/^Epoch \d+\/4: loss (\d+\.\d+)/gm)].map((m) => m[1]);
    expect(losses).toHaveLength(4);
    expect(new Set(losses.slice(1)).size, `epoch losses ${losses.join(', ')}`).toBeGreaterThan(1);
  });
});
