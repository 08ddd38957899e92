// The command line as scripts and people use it: exit codes, one-line errors,
// Keras checkpoints in and out, and runs that survive SIGKILL and resume to
// the same weights as an uninterrupted run.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readKerasWeights } from '../src/io/keras-hdf5.ts';
import { initialModel } from '../src/nn/models.ts';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { applyTemperature } from '../src/train/calibration.ts';
import { loadCheckpoint, modelFromCheckpoint, saveCheckpoint } from '../src/train/checkpoint.ts';
import { randomWeights, tfKerasConfig, writeAsKeras } from './support/keras-file.ts';
import { errorLines, handscan } from './support/cli.ts';
import { rng, TEST_SEED } from './support/random.ts';

const dir = await mkdtemp(join(tmpdir(), 'handscan-cli-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const data = join(dir, 'small.hdf5');

/** A short training run on the small survey, different only in its folder. */
const TINY = ['--data', data, '--epochs', '4', '--samples-per-epoch', '48', '--batch-size', '16', '--seed', '4'];

beforeAll(async () => {
  const r = await handscan(['simulate', '--n', '240', '--seed', '5', '--out', data]);
  expect(r.code, r.stderr).toBe(0);
});

describe('bad input: one line naming the problem, and a non-zero exit', () => {
  const usage: string[][] = [
    ['no-such-command'],
    ['train', '--bogus'],
    ['train', '--model', 'huge'],
    ['train', '--epochs', '0'],
    ['train', '--labels', 'colours'],
    ['train', '--lr', 'fast'],
    ['train', '--class-weight', '1,2,3'],
    ['train', '--class-weight', 'heavy'],
    ['train', '--lr-schedule', 'step'],
    ['train', '--lr-factor', '1.5'],
    ['train', '--patience', '0'],
    ['predict', '--data', data, '--out', join(dir, 'x.csv')],
    ['evaluate'],
  ];
  for (const args of usage) {
    it(`usage error, exit 2: handscan ${args.join(' ').replace(dir, '$TMP')}`, async () => {
      const r = await handscan(args);
      expect(r.code).toBe(2);
      expect(errorLines(r)).toHaveLength(1);
      expect(errorLines(r)[0]).toMatch(/^handscan: /);
    });
  }

  it('missing files and corrupt checkpoints, exit 1, nothing written', async () => {
    const corrupt = join(dir, 'corrupt.h5');
    writeFileSync(corrupt, 'this is not HDF5');
    const csv = join(dir, 'never.csv');
    const cases: [string[], RegExp][] = [
      [['train', '--data', join(dir, 'missing.hdf5'), '--out', join(dir, 'never')], /missing\.hdf5/],
      [['predict', '--weights', join(dir, 'missing.h5'), '--data', data, '--out', csv], /missing\.h5/],
      [['predict', '--weights', corrupt, '--data', data, '--out', csv], /corrupt\.h5/],
      [['evaluate', '--run', join(dir, 'no-run')], /no-run/],
      [['train', '--resume', '--out', join(dir, 'no-run')], /no-run/],
    ];
    for (const [args, names] of cases) {
      const r = await handscan(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(errorLines(r), args.join(' ')).toHaveLength(1);
      expect(errorLines(r)[0]).toMatch(names);
    }
    expect(existsSync(csv)).toBe(false);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});

describe('Keras interoperability', () => {
  it('a Keras 2 file loads and predicts; saved by Handscan and reloaded, its weights and predictions are identical', async () => {
    const names = ['conv2d', 'max_pooling2d', 'conv2d_1', 'max_pooling2d_1', 'conv2d_2', 'max_pooling2d_2', 'flatten', 'dense', 'dense_1'];
    const layers = randomWeights(initialModel(2), names, rng(TEST_SEED));
    const keras = join(dir, 'keras.h5');
    writeAsKeras(keras, layers, tfKerasConfig(names));
    const first = join(dir, 'first.csv');
    const r1 = await handscan(['predict', '--weights', keras, '--data', data, '--out', first]);
    expect(r1.code, r1.stderr).toBe(0);
    const csv = readFileSync(first, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('id,p_not_real,p_real,label');
    expect(csv).toHaveLength(241);
    expect(csv[1]).toMatch(/^0,[0-9.e-]+,[0-9.e-]+,(not_real|real)$/);

    const saved = join(dir, 'handscan.h5');
    await saveCheckpoint(saved, modelFromCheckpoint(keras, await loadCheckpoint(keras), cpuBackend, (classes) => initialModel(classes)), { preprocess: 'scale255' });
    const reread = (await readKerasWeights(saved)).layers.filter((l) => l.weights.length > 0);
    const original = layers.filter((l) => l.weights.length > 0);
    expect(reread).toHaveLength(original.length);
    reread.forEach((l, i) =>
      l.weights.forEach((w, j) => {
        const o = original[i].weights[j];
        expect(w.shape).toEqual(o.shape);
        expect(Buffer.from(w.values.buffer, w.values.byteOffset, w.values.byteLength).equals(Buffer.from(o.values.buffer, o.values.byteOffset, o.values.byteLength))).toBe(true);
      }),
    );
    const second = join(dir, 'second.csv');
    const r2 = await handscan(['predict', '--weights', saved, '--data', data, '--out', second]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(readFileSync(second, 'utf8')).toBe(readFileSync(first, 'utf8'));
  });
});

describe('calibration, schedules and class weights', () => {
  const rows = (csv: string) => readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(1, 3).map(Number));

  it('predict applies the temperature a checkpoint stores: its columns are softmax(z/T)', async () => {
    const model = Sequential.build(initialModel(2), cpuBackend, 3);
    const [plain, warm] = [join(dir, 'plain.h5'), join(dir, 'warm.h5')];
    await saveCheckpoint(plain, model, { preprocess: 'scale255' });
    await saveCheckpoint(warm, model, { preprocess: 'scale255', temperature: 2 });
    expect((await loadCheckpoint(warm)).temperature).toBe(2);
    const outs = [join(dir, 'plain.csv'), join(dir, 'warm.csv')];
    for (const [weights, out] of [[plain, outs[0]], [warm, outs[1]]]) {
      const r = await handscan(['predict', '--weights', weights, '--data', data, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
    }
    const [raw, calibrated] = outs.map(rows);
    expect(calibrated).toHaveLength(240);
    calibrated.forEach((p, i) => {
      const expected = applyTemperature(raw[i], 2, 2);
      expect(Math.abs(p[1] - expected[1]), `row ${i}`).toBeLessThan(1e-5);
    });
    expect(calibrated.some((p, i) => Math.abs(p[1] - raw[i][1]) > 1e-3)).toBe(true);
  });

  it('a run records each epoch\'s learning rate, its training metrics move every epoch, early stopping keeps to its patience, and the report has the calibration figures and plot and per-layer diagnostics', async () => {
    const out = join(dir, 'scheduled');
    const r = await handscan(['train', '--data', data, '--epochs', '6', '--batch-size', '16', '--seed', '2', '--lr', '0.003', '--lr-schedule', 'cosine', '--patience', '1', '--class-weight', 'balanced', '--calibrate', 'temperature', '--verbose', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const history = report.history as { epoch: number; loss: number; accuracy: number; lr: number }[];
    history.forEach((h) => expect(h.lr).toBeCloseTo((0.003 * (1 + Math.cos((Math.PI * (h.epoch - 1)) / 6))) / 2, 12));
    // The symptom: a training loss that repeats from one epoch to the next.
    for (let i = 1; i < history.length; i++) expect(history[i].loss.toFixed(4), `epochs ${i} and ${i + 1}`).not.toBe(history[i - 1].loss.toFixed(4));
    // On this seed epoch 5 brings no lower validation loss than epoch 4: with a patience of 1 the run stops there.
    expect(r.stdout).toMatch(/^early stop after epoch 5: no lower validation loss in 1 epoch$/m);
    expect(history).toHaveLength(5);
    expect(report.bestEpoch).toBe(4);
    expect(report.classWeights).toHaveLength(2);
    expect(report.classWeights[0]).toBeGreaterThan(report.classWeights[1]);
    expect(report.temperature).toBeGreaterThan(0);
    expect((await loadCheckpoint(join(out, 'best.h5'))).temperature).toBe(report.temperature);
    expect(report.test.ece).toBeGreaterThanOrEqual(0);
    expect(report.test.brier).toBeGreaterThan(0);
    expect(report.uncalibrated.ece).toBeGreaterThanOrEqual(0);
    for (const f of ['reliability.svg', 'reliability.png']) expect(existsSync(join(out, f)), f).toBe(true);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\| epoch \| loss \| accuracy \| val loss \| val accuracy \| lr \|/);
    expect(md).toMatch(/^\| dense_1\/relu \| \d+\.\d\d% \| {2}\| {2}\|$/m);
    expect(md).toMatch(/^Calibration of p_real: expected calibration error \d\.\d{4} \(15 equal-width bins\), Brier score \d\.\d{4}, after temperature scaling at T = /m);
    expect(r.stdout).toMatch(/^class weights balanced \(/m);
    // --verbose prints, and report.json keeps, each epoch's diagnostics: every ReLU and every layer with weights.
    expect(r.stdout).toMatch(/^ {2}dense_1\/relu +dead ReLU \d+\.\d%$/m);
    for (const h of report.history) {
      expect(h.atClip).toBeGreaterThanOrEqual(0);
      expect(h.diagnostics.map((d: { layer: string }) => d.layer)).toEqual(['conv2d_1/relu', 'conv2d_2/relu', 'conv2d_3/relu', 'dense_1/relu', 'conv2d_1', 'conv2d_2', 'conv2d_3', 'dense_1', 'dense_2']);
      for (const d of h.diagnostics.filter((d: { updateRatio?: number }) => d.updateRatio !== undefined)) expect(d.updateRatio).toBeGreaterThan(0);
    }
  });
});

describe('training runs', () => {
  it('--dry-run of the paper preset prints the protocol: RMSprop, batch 64, 50 epochs, the paper split sizes', async () => {
    const r = await handscan(['train', '--preset', 'paper', '--dry-run', '--data', data, '--out', join(dir, 'dry')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/optimizer\s+rmsprop \(lr 0\.001/);
    expect(r.stdout).toMatch(/batch size\s+64/);
    expect(r.stdout).toMatch(/epochs\s+50, each of the whole training split/);
    expect(r.stdout).toMatch(/split\s+126 train \/ 54 validation \/ 60 test/);
  });

  // The initial network (RMSprop) and the tuned one (Adam, dropout): optimizer
  // moments and learning rate (under a schedule), the step counter that seeds
  // dropout, and the history must all survive a kill.
  const survivors: [string, string[], number][] = [
    ['initial', [...TINY, '--lr-schedule', 'plateau', '--lr-patience', '1', '--class-weight', 'balanced'], 10],
    ['tuned', [...TINY, '--model', 'tuned', '--lr-schedule', 'cosine'], 5],
  ];
  for (const [model, options, wantedKills] of survivors) {
    it(`${model}: SIGKILL at ${wantedKills} random moments during training never leaves an unreadable file, and --resume from mid-run checkpoints ends with the same checkpoints and report as an uninterrupted run`, async () => {
      const straight = join(dir, `straight-${model}`);
      const r = await handscan(['train', ...options, '--out', straight]);
      expect(r.code, r.stderr).toBe(0);

      const killed = join(dir, `killed-${model}`);
      const random = rng(TEST_SEED);
      let kills = 0;
      let finished = false;
      const resumedAfter: number[] = [];
      for (let attempt = 0; attempt < 40 && !finished; attempt++) {
        const resume = existsSync(join(killed, 'last.h5'));
        const args = resume ? ['train', '--resume', '--out', killed] : ['train', ...options, '--out', killed];
        // Every other kill lands anywhere after training starts (the split line), the
        // first checkpoint's writing among them; the others land once an epoch before
        // the last was saved (its summary line), so that the next run resumes mid-run.
        const after = kills % 2 === 0 ? /^split /m : /^Epoch [1-3]\/4: /m;
        const kill = kills < wantedKills ? { after, delayMs: random() * 2500 } : undefined;
        const res = await handscan(args, { kill });
        const resumed = /resuming .* after epoch (\d+)/.exec(res.stdout);
        if (resumed) resumedAfter.push(Number(resumed[1]));
        // A kill counts when it landed while epochs ran, not once the run had moved on to its test set.
        if (res.signal === 'SIGKILL') kills += Number(!/reloading the weights/.test(res.stdout));
        else expect(res.code, res.stderr).toBe(0);
        for (const f of existsSync(killed) ? readdirSync(killed) : []) {
          const path = join(killed, f);
          if (f.endsWith('.h5')) await expect(readKerasWeights(path), path).resolves.toBeTruthy();
          if (f.endsWith('.json')) expect(() => JSON.parse(readFileSync(path, 'utf8')), path).not.toThrow();
        }
        if (res.signal !== 'SIGKILL') {
          finished = kills >= wantedKills;
          // The run ended before enough kills landed: begin a fresh one, keeping the count.
          if (!finished) await rm(killed, { recursive: true, force: true });
        }
      }
      expect(kills, `seed ${TEST_SEED}`).toBe(wantedKills);
      expect(finished).toBe(true);
      // Some resume continued a run from the middle, not from its first or last epoch.
      expect(resumedAfter.some((e) => e >= 1 && e < 4), `resumed after epochs ${resumedAfter} (seed ${TEST_SEED})`).toBe(true);
      for (const f of ['last.h5', 'best.h5']) {
        const a = await loadCheckpoint(join(straight, f));
        const b = await loadCheckpoint(join(killed, f));
        expect(b.weights, `${f} weights (seed ${TEST_SEED})`).toEqual(a.weights);
        // last.h5 carries the whole training state: optimizer moments and step count, history, best epoch, config.
        const state = (s: typeof a.state) => s && { ...s, config: { ...s.config, data: '' } };
        expect(state(b.state), `${f} state (seed ${TEST_SEED})`).toEqual(state(a.state));
      }
      expect((await loadCheckpoint(join(killed, 'last.h5'))).state?.epoch).toBe(4);
      const figures = (run: string) => {
        const { test, baseline, history } = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8'));
        return { test, baseline, history };
      };
      expect(figures(killed)).toEqual(figures(straight));
    });
  }
});
