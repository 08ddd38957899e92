// Device errors are errors: a validation error or a lost device fails the
// operation that caused it, naming the kernel, instead of going to the
// console while training carries on; the caller can open a new engine; and
// a CLI run that loses its device ends with one line, a non-zero exit and
// its last good checkpoint intact.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { add } from '../src/kernels/elementwise.ts';
import { DeviceError, type Engine } from '../src/kernels/engine.ts';
import { openEngine } from '../src/platform/node/engine.ts';
import { loadCheckpoint } from '../src/train/checkpoint.ts';
import { errorLines, handscan } from './support/cli.ts';

const engines: Engine[] = [];
async function engine(): Promise<Engine> {
  const g = await openEngine();
  engines.push(g);
  return g;
}
const dir = await mkdtemp(join(tmpdir(), 'handscan-device-errors-'));
afterAll(async () => {
  engines.forEach((g) => g.destroy());
  await rm(dir, { recursive: true, force: true });
});

describe('device errors', () => {
  it('a validation error (a kernel bound to too few buffers) rejects the readback, naming the kernel', async () => {
    const g = await engine();
    const a = g.upload([1, 2, 3, 4], [4]);
    const y = g.empty([4]);
    // elementwise.wgsl:add declares three storage bindings; binding two is invalid.
    g.run({ shader: 'elementwise.wgsl', entryPoint: 'add', workgroupSize: [256, 1, 1], overrides: { VEC4S: 4 }, dispatch: [1, 1, 1], uniforms: [4] }, [a.buffer, y.buffer]);
    const error = await g.read(y).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceError);
    expect((error as Error).message).toMatch(/^WebGPU validation error in kernel elementwise\.wgsl:add: /);
    expect((error as Error).message).not.toContain('\n');
    // The engine stays failed: later work is refused at once, naming what was asked.
    expect(() => add(g, a, a)).toThrow(/validation error.*\(at kernel elementwise\.wgsl:add\)/);
  });

  it('a lost device rejects the readback and every later kernel, naming them; a new engine works', async () => {
    const g = await engine();
    const a = g.upload([1, 2, 3, 4, 5], [5]);
    const y = add(g, a, a);
    g.device.destroy(); // what a driver reset or a GPU process crash looks like to the engine
    const error = await g.read(y).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceError);
    expect((error as Error).message).toMatch(/device lost.*elementwise\.wgsl:add/);
    expect(() => add(g, a, a)).toThrow(/device lost.*\(at kernel elementwise\.wgsl:add\)/);
    const fresh = await engine();
    const b = fresh.upload([1, 2, 3, 4, 5], [5]);
    expect([...(await fresh.read(add(fresh, b, b)))]).toEqual([2, 4, 6, 8, 10]);
  });

  it('two engines live side by side: each computes, and closing one leaves the other working', async () => {
    const [g1, g2] = [await engine(), await engine()];
    const x1 = g1.upload([1, -2, 3], [3]);
    const x2 = g2.upload([10, 20, 30], [3]);
    expect([...(await g1.read(add(g1, x1, x1)))]).toEqual([2, -4, 6]);
    expect([...(await g2.read(add(g2, x2, x2)))]).toEqual([20, 40, 60]);
    g1.destroy();
    expect(() => add(g1, x1, x1)).toThrow(/engine was closed/);
    expect([...(await g2.read(add(g2, x2, x2)))]).toEqual([20, 40, 60]);
  });

  it('train: a device lost mid-run ends with one line naming the kernel and exit 1; last.h5 stays readable', async () => {
    const data = join(dir, 'small.hdf5');
    expect((await handscan(['simulate', '--n', '120', '--seed', '3', '--out', data])).code).toBe(0);
    const out = join(dir, 'run');
    const args = ['train', '--data', data, '--out', out, '--epochs', '6', '--samples-per-epoch', '32', '--batch-size', '16', '--seed', '2'];
    // One epoch is 2 training steps, their readbacks, the validation pass and
    // the per-epoch diagnostics' readbacks: some 40 to 70 submits, so the
    // device is lost after the first epoch's checkpoint, well before the sixth.
    const r = await handscan(args, { env: { HANDSCAN_DESTROY_DEVICE_AFTER: '80' } });
    const lines = errorLines(r);
    expect(r.code, r.stderr).toBe(1);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^handscan: WebGPU device lost.*\(at .*kernel/);
    const last = await loadCheckpoint(join(out, 'last.h5'));
    expect(last.state!.epoch).toBeGreaterThanOrEqual(1);
    expect(last.state!.epoch).toBeLessThan(6);
    expect((await loadCheckpoint(join(out, 'best.h5'))).weights.length).toBeGreaterThan(0);
  });
});
