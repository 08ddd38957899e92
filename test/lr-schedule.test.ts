// Learning-rate schedules and early stopping, as Keras's ReduceLROnPlateau,
// a per-epoch cosine decay and EarlyStopping define them; the learning rate
// is part of the optimizer's saved state.
import { describe, expect, it } from 'vitest';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { makeOptimizer } from '../src/nn/optimizers.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { dense } from '../src/nn/spec.ts';
import { scheduledLr, stopsEarly, type LrSchedule } from '../src/train/lr-schedule.ts';
import type { EpochHistory } from '../src/train/plots.ts';

const history = (valLosses: number[]): EpochHistory[] => valLosses.map((valLoss, i) => ({ epoch: i + 1, loss: 1, accuracy: 0.5, valLoss }));
const schedule = (name: LrSchedule['name']): LrSchedule => ({ name, lr: 1e-3, factor: 0.1, patience: 2, epochs: 4 });

describe('learning-rate schedules', () => {
  it('plateau: ×factor after `patience` epochs whose val_loss is not below the best − 1e-4, then waits afresh', () => {
    const h = history([1.0, 0.9, 0.95, 0.91, 0.89995, 0.8, 0.85, 0.86, 0.87]);
    const lrAt = (epoch: number) => scheduledLr(schedule('plateau'), epoch, h.slice(0, epoch - 1));
    // Epochs 3 and 4 bring no improvement: epoch 5 trains at 1e-4. 0.89995 misses 0.9 − 1e-4; 0.8 is a new best.
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map(lrAt).map((v) => Number(v.toPrecision(6)))).toEqual([1e-3, 1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-4, 1e-4, 1e-5]);
  });

  it('cosine: lr at epoch 1, half of it midway, towards 0 at the end; constant: lr throughout', () => {
    const lrs = [1, 2, 3, 4].map((e) => scheduledLr(schedule('cosine'), e, []));
    expect(lrs[0]).toBe(1e-3);
    expect(lrs[2]).toBeCloseTo(0.5e-3, 15);
    expect(lrs[1]).toBeCloseTo(1e-3 * (1 + Math.SQRT1_2) / 2, 15);
    expect(lrs[3]).toBeCloseTo(1e-3 * (1 - Math.SQRT1_2) / 2, 15);
    expect([1, 5].map((e) => scheduledLr(schedule('constant'), e, history([1, 2, 3, 4])))).toEqual([1e-3, 1e-3]);
  });

  it('early stopping: after `patience` epochs past the best one; never without a patience', () => {
    expect(stopsEarly(2, 3, 1)).toBe(true);
    expect(stopsEarly(2, 2, 1)).toBe(false);
    expect(stopsEarly(null, 50, 1)).toBe(false);
  });

  it("the optimizer's learning rate is saved and restored with its state", async () => {
    for (const name of ['rmsprop', 'adam'] as const) {
      const model = Sequential.build({ inputShape: [2, 2, 1], layers: [{ type: 'flatten' }, dense(2, 'softmax')] }, cpuBackend, 1);
      const a = makeOptimizer(name, cpuBackend, model.parameters(), 1e-3);
      a.lr = 2.5e-4;
      const b = makeOptimizer(name, cpuBackend, model.parameters(), 1e-3);
      b.setState(await a.getState());
      expect(b.lr, name).toBe(2.5e-4);
    }
  });
});
