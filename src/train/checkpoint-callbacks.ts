/**
 * Checkpointing as callbacks, as in Keras: backupAndRestore keeps the whole
 * training state so an interrupted run continues exactly where it stopped;
 * modelCheckpoint saves the model itself (in whatever format the caller's
 * `save` writes) after epochs, optionally only when a metric improves.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Callback } from './callbacks.js';
import type { LegacyReader } from './checkpoint.js';
import type { Logs } from './history.js';
import type { Trainer } from './trainer.js';

export interface BackupAndRestoreArgs {
  /** The checkpoint file (see train/checkpoint.ts). */
  path: string;
  /** Restore from `path` at the start of training if it exists (default true). */
  restore?: boolean;
  /** Delete the checkpoint when training finishes (Keras' default, true); an interrupted run always keeps it. */
  deleteOnEnd?: boolean;
  /** Reads checkpoints of an older format (see checkpoint.ts). */
  legacy?: LegacyReader;
  /** After every save, with the position saved. */
  onSaved?(trainer: Trainer): void | Promise<void>;
}

/** The last position saved, for messages ("the checkpoint of epoch 3 is kept"). */
export interface SavedPosition {
  epoch: number;
  step: number;
  globalStep: number;
}

export interface BackupAndRestore extends Callback {
  /** Where the checkpoint on disk stands (undefined before the first save or restore). */
  readonly lastSaved: SavedPosition | undefined;
}

/** Save the training state after every epoch and when training stops early; restore it when training starts. */
export function backupAndRestore(args: BackupAndRestoreArgs): BackupAndRestore {
  let trainer!: Trainer;
  let lastSaved: SavedPosition | undefined;
  const save = async (): Promise<void> => {
    await trainer.save(args.path);
    lastSaved = { ...trainer.position };
    await args.onSaved?.(trainer);
  };
  return {
    get lastSaved() {
      return lastSaved;
    },
    setTrainer: (t) => (trainer = t),
    async onTrainBegin() {
      if ((args.restore ?? true) && existsSync(args.path)) {
        await trainer.restore(args.path, args.legacy);
        lastSaved = { ...trainer.position };
      }
    },
    onEpochEnd: save,
    async onTrainEnd() {
      const at = trainer.position;
      if (trainer.finished && (args.deleteOnEnd ?? true)) {
        await rm(args.path, { force: true });
        return;
      }
      if (!lastSaved || lastSaved.globalStep !== at.globalStep || lastSaved.epoch !== at.epoch) await save();
    },
  };
}

export interface ModelCheckpointArgs {
  /** Writes the model (atomically); called after each epoch, or only on improvement with saveBestOnly. */
  save(epoch: number, logs: Logs): Promise<void>;
  /** With saveBestOnly: the log key to watch (default 'val_loss') and its direction. */
  monitor?: string;
  mode?: 'min' | 'max';
  saveBestOnly?: boolean;
  /** Also save when training stops early (default true), so the model matches the backup. */
  saveOnInterrupt?: boolean;
}

export function modelCheckpoint(args: ModelCheckpointArgs): Callback {
  const monitor = args.monitor ?? 'val_loss';
  const sign = (args.mode ?? (/acc/.test(monitor) ? 'max' : 'min')) === 'min' ? 1 : -1;
  let trainer!: Trainer;
  let best = Infinity;
  let savedAt = -1;
  return {
    setTrainer: (t) => (trainer = t),
    async onEpochEnd(epoch, logs) {
      if (args.saveBestOnly) {
        const value = logs[monitor];
        if (value === undefined) throw new Error(`modelCheckpoint: logs have no '${monitor}'; available: ${Object.keys(logs).join(', ')}`);
        if (!(sign * value < best)) return;
        best = sign * value;
      }
      await args.save(epoch, logs);
      savedAt = trainer.position.globalStep;
    },
    async onTrainEnd(logs) {
      if (trainer.interrupted && (args.saveOnInterrupt ?? true) && !args.saveBestOnly && savedAt !== trainer.position.globalStep) {
        await args.save(trainer.position.epoch, logs);
      }
    },
  };
}
