// `simulate` and `show` as a user runs them: exit 0 with readable files,
// exit 2 for bad options and 1 for bad files, one line on stderr, and no
// output left behind by a failed or killed run.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { readSdssHdf5 } from '../src/data/hdf5.ts';
import { TEST_SEED } from './support/random.ts';

const folder = mkdtempSync(join(tmpdir(), 'handscan-cli-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `npx tsx src/train/main.ts ...args` in its own process group; with
 * `killOnOutput`, the whole group (npx, tsx and the command) is killed with
 * SIGKILL as soon as the command prints its first line.
 */
function handscan(args: string[], killOnOutput = false): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['tsx', 'src/train/main.ts', ...args], { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (killOnOutput) process.kill(-child.pid!, 'SIGKILL');
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const oneLine = (text: string) => text.trim().split('\n');

describe(`handscan simulate / show (TEST_SEED=${TEST_SEED})`, () => {
  it('simulate writes a readable survey and contact sheet; show draws any dataset', async () => {
    const out = join(folder, 'small.hdf5');
    const sheet = join(folder, 'small.png');
    const counts = '3,3,3,3,3,3,3,3,3,3';
    const run = await handscan(['simulate', '--out', out, '--counts', counts, '--seed', String(TEST_SEED), '--difficulty', '0.3', '--sheet', sheet]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/wrote .*small\.hdf5: 30 cutouts/);
    const survey = await readSdssHdf5(out);
    expect(survey.labels.length).toBe(30);
    const png = PNG.sync.read(readFileSync(sheet));
    expect(png.width).toBeGreaterThan(8 * 138);
    const shown = join(folder, 'shown.png');
    const show = await handscan(['show', '--data', out, '--out', shown, '--per-class', '3']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/30 cutouts \(Artefact 3, Dipole 3/);
    expect(PNG.sync.read(readFileSync(shown)).height).toBeGreaterThan(10 * 138);
  });

  it('show draws alert packets through a step, float cutouts stretched for display', async () => {
    const fixture = join(import.meta.dirname, 'fixtures', 'ztf', '2475433850415015002.avro');
    const shown = join(folder, 'alert.png');
    const run = await handscan(['show', '--data', fixture, '--preprocess', 'braai', '--out', shown, '--per-class', '1', '--zoom', '1']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/2475433850415015002\.avro: 1 cutouts \(unlabelled\); 63×63×3 float32, preprocess braai/);
    expect(PNG.sync.read(readFileSync(shown)).height).toBeGreaterThan(63);
  });

  it('bad options exit with 2 and one line naming the option', async () => {
    const out = join(folder, 'never.hdf5');
    const cases: [string[], RegExp][] = [
      [['simulate', '--out', out, '--bogus'], /simulate: Unknown option '--bogus'/],
      [['simulate', '--out', out, '--n', '0'], /--n must be a whole number in 1\.\.100000, got '0'/],
      [['simulate', '--out', out, '--counts', '1,2'], /--counts must be 'paper', 'balanced' or 10 comma-separated whole numbers/],
      [['simulate', '--n', '5'], /--out FILE\.hdf5 is required/],
      [['show', '--out', join(folder, 'never.png'), '--preprocess', 'zscale'], /show: --preprocess must be one of scale255, braai, braai-rows, none, got 'zscale'/],
    ];
    const results = await Promise.all(cases.map(([args]) => handscan(args)));
    results.forEach((run, k) => {
      expect(run.code, run.stderr).toBe(2);
      expect(oneLine(run.stderr)).toHaveLength(1);
      expect(run.stderr).toMatch(cases[k][1]);
    });
    expect(existsSync(out)).toBe(false);
  });

  it('bad files exit with 1 and one line, and leave no output behind', async () => {
    const notHdf5 = join(folder, 'notes.hdf5');
    writeFileSync(notHdf5, 'not a survey');
    const unknownClass = join(folder, 'cutouts');
    mkdirSync(join(unknownClass, 'Supernovae'), { recursive: true });
    const aFolder = join(folder, 'taken');
    mkdirSync(aFolder);
    const cases: [string[], RegExp, string][] = [
      [['simulate', '--out', join(folder, 'missing', 'x.hdf5'), '--n', '5'], /folder .*missing does not exist/, join(folder, 'missing')],
      [['simulate', '--out', aFolder, '--n', '5'], /taken is a folder; expected a file name/, join(aFolder, 'x')],
      [['show', '--data', notHdf5, '--out', join(folder, 'a.png')], /notes\.hdf5: not an HDF5 file/, join(folder, 'a.png')],
      [['show', '--data', unknownClass, '--out', join(folder, 'b.png')], /unknown class folder 'Supernovae'/, join(folder, 'b.png')],
    ];
    const results = await Promise.all(cases.map(([args]) => handscan(args)));
    results.forEach((run, k) => {
      expect(run.code, run.stderr).toBe(1);
      expect(oneLine(run.stderr)).toHaveLength(1);
      expect(run.stderr).toMatch(cases[k][1]);
      expect(existsSync(cases[k][2])).toBe(false);
    });
    expect(readdirSync(folder).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a run killed while simulating leaves no file', async () => {
    const out = join(folder, 'killed.hdf5');
    // The first line is the progress report after 5,000 cutouts, long before the file is written.
    const run = await handscan(['simulate', '--out', out, '--n', '20000'], true);
    expect(run.signal).toBe('SIGKILL');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(folder).filter((f) => f.startsWith('.killed'))).toEqual([]);
  });
});
