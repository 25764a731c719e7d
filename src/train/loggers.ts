/**
 * Metric logs as files: one row per epoch, rewritten atomically after every
 * epoch from the trainer's history, so a resumed run's file is the same as an
 * uninterrupted one's.
 */
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import type { Callback } from './callbacks.js';
import type { HistoryRow } from './history.js';
import type { Trainer } from './trainer.js';

/** "epoch,loss,val_loss" then one line per epoch (epochs counted from 1); a missing value is blank. */
export function historyCsv(rows: readonly HistoryRow[]): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => k !== 'epoch');
  const lines = rows.map((r) => [String(r.epoch + 1), ...columns.map((c) => (r[c] === undefined ? '' : String(r[c])))].join(','));
  return [['epoch', ...columns].join(','), ...lines].join('\n') + '\n';
}

function historyWriter(write: (rows: HistoryRow[]) => Promise<void>): Callback {
  let trainer!: Trainer;
  return {
    setTrainer: (t) => (trainer = t),
    onEpochEnd: () => write(trainer.history.rows()),
  };
}

/** Keras' CSVLogger. */
export function csvLogger(path: string): Callback {
  return historyWriter((rows) => writeFileAtomic(path, historyCsv(rows)));
}

/** The history as a JSON array of rows. */
export function jsonLogger(path: string): Callback {
  return historyWriter((rows) => writeJsonAtomic(path, rows));
}
