/**
 * Training callbacks, Keras-style. The Trainer calls every hook a callback
 * defines (hooks may be async; an undefined hook costs nothing per step) and
 * hands each callback the trainer first, so a callback can read the position
 * and history, save a checkpoint, or set `trainer.stopTraining`.
 */
import type { Logs } from './history.js';
import type { Position, Trainer } from './trainer.js';

export interface Callback {
  /** Called once, before onTrainBegin, with the trainer that runs the callback. */
  setTrainer?(trainer: Trainer): void;
  onTrainBegin?(logs: Logs): void | Promise<void>;
  onTrainEnd?(logs: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  /** `batch` is the step's index within its epoch. */
  onBatchBegin?(batch: number, logs: Logs): void | Promise<void>;
  onBatchEnd?(batch: number, logs: Logs): void | Promise<void>;
}

/** Calls a hook on every callback that defines it. */
export class CallbackList {
  private readonly batchHooks: boolean;

  constructor(
    private readonly callbacks: readonly Callback[],
    trainer: Trainer,
  ) {
    for (const c of callbacks) c.setTrainer?.(trainer);
    this.batchHooks = callbacks.some((c) => c.onBatchBegin || c.onBatchEnd);
  }

  async trainBegin(): Promise<void> {
    for (const c of this.callbacks) await c.onTrainBegin?.({});
  }

  async trainEnd(logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onTrainEnd?.(logs);
  }

  async epochBegin(epoch: number): Promise<void> {
    for (const c of this.callbacks) await c.onEpochBegin?.(epoch, {});
  }

  async epochEnd(epoch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onEpochEnd?.(epoch, logs);
  }

  async batchBegin(at: Position): Promise<void> {
    if (!this.batchHooks) return;
    for (const c of this.callbacks) await c.onBatchBegin?.(at.step, {});
  }

  async batchEnd(at: Position, logs: Logs): Promise<void> {
    if (!this.batchHooks) return;
    for (const c of this.callbacks) await c.onBatchEnd?.(at.step, logs);
  }
}

export interface EarlyStoppingArgs {
  /** Log key to watch; default 'val_loss'. */
  monitor?: string;
  /** Epochs without improvement before stopping; default 0. */
  patience?: number;
  /** Smallest change that counts as improvement; default 0. */
  minDelta?: number;
  /** 'min' (default for losses) or 'max' (accuracies). */
  mode?: 'min' | 'max';
}

/** Stop training when `monitor` stops improving. */
export function earlyStopping(args: EarlyStoppingArgs = {}): Callback {
  const monitor = args.monitor ?? 'val_loss';
  const patience = args.patience ?? 0;
  const minDelta = Math.abs(args.minDelta ?? 0);
  const sign = (args.mode ?? (/acc/.test(monitor) ? 'max' : 'min')) === 'min' ? 1 : -1;
  let trainer: Trainer | undefined;
  let best = Infinity;
  let wait = 0;
  return {
    setTrainer: (t) => (trainer = t),
    onTrainBegin: () => {
      best = Infinity;
      wait = 0;
    },
    onEpochEnd: (_epoch, logs) => {
      const value = logs[monitor];
      if (value === undefined) throw new Error(`earlyStopping: logs have no '${monitor}'; available: ${Object.keys(logs).join(', ')}`);
      if (sign * value < best - minDelta) {
        best = sign * value;
        wait = 0;
      } else if (++wait > patience && trainer) {
        trainer.stopTraining = true;
      }
    },
  };
}

/** Any of the hooks as plain functions (Keras' LambdaCallback). */
export function lambdaCallback(hooks: Callback): Callback {
  return hooks;
}
