// Learning-rate schedules and early stopping as Keras users have them, each a
// pure function of the run's history, so that `--resume` continues exactly:
// the learning rate an epoch trains at follows from the epochs before it (and
// is stored with the optimizer's state in last.h5 as well).
//
//   constant  the optimizer's lr throughout
//   plateau   Keras's ReduceLROnPlateau(monitor='val_loss', factor, patience,
//             min_delta=1e-4, cooldown=0, min_lr=0): after `patience` epochs
//             without a val_loss below the best − 1e-4, lr ← lr·factor
//   cosine    cosine decay per epoch from lr towards 0 over the run's epochs:
//             epoch e of E trains at lr·½(1 + cos(π(e − 1)/E))
import type { EpochHistory } from './plots.ts';

export type LrScheduleName = 'constant' | 'plateau' | 'cosine';
export const LR_SCHEDULES: readonly LrScheduleName[] = ['constant', 'plateau', 'cosine'];

export interface LrSchedule {
  name: LrScheduleName;
  /** The starting learning rate (--lr). */
  lr: number;
  /** Plateau: the factor a reduction multiplies by, and the epochs without improvement it waits. */
  factor: number;
  patience: number;
  /** Cosine: the run's epochs. */
  epochs: number;
}

/** Keras ReduceLROnPlateau's min_delta: an improvement smaller than this does not count. */
const PLATEAU_MIN_DELTA = 1e-4;

/** The learning rate for epoch `epoch` (1-based), after the epochs in `history`. */
export function scheduledLr(s: LrSchedule, epoch: number, history: readonly EpochHistory[]): number {
  if (s.name === 'cosine') return (s.lr * (1 + Math.cos((Math.PI * (epoch - 1)) / s.epochs))) / 2;
  if (s.name === 'constant') return s.lr;
  let lr = s.lr;
  let best = Infinity;
  let wait = 0;
  for (const h of history) {
    const v = h.valLoss ?? Infinity;
    if (v < best - PLATEAU_MIN_DELTA) {
      best = v;
      wait = 0;
    } else if (++wait >= s.patience) {
      lr *= s.factor;
      wait = 0;
    }
  }
  return lr;
}

/**
 * Keras's EarlyStopping(monitor='val_loss', patience, min_delta=0): whether a
 * run whose lowest validation loss came at `bestEpoch` stops after `epoch`.
 * train keeps (and reloads) the best weights in any case.
 */
export function stopsEarly(patience: number | null, epoch: number, bestEpoch: number): boolean {
  return patience !== null && epoch - bestEpoch >= patience;
}
