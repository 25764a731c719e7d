/**
 * Training callbacks, Keras-style. Hooks may be async; a hook that is not
 * defined costs nothing per step. Setting `model.stopTraining = true` in a
 * hook ends fit after the current batch.
 */
import type { Logs } from './history.js';

export interface Callback {
  onTrainBegin?(logs: Logs): void | Promise<void>;
  onTrainEnd?(logs: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  onBatchBegin?(batch: number, logs: Logs): void | Promise<void>;
  onBatchEnd?(batch: number, logs: Logs): void | Promise<void>;
}

type EpochHook = 'onEpochBegin' | 'onEpochEnd' | 'onBatchBegin' | 'onBatchEnd';
type TrainHook = 'onTrainBegin' | 'onTrainEnd';

/** Calls a hook on every callback that defines it. */
export class CallbackList {
  constructor(private readonly callbacks: readonly Callback[]) {}

  has(hook: EpochHook | TrainHook): boolean {
    return this.callbacks.some((c) => c[hook] !== undefined);
  }

  async train(hook: TrainHook, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c[hook]?.(logs);
  }

  async at(hook: EpochHook, index: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c[hook]?.(index, logs);
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

/** Stop fit when `monitor` stops improving; call with the model being trained. */
export function earlyStopping(model: { stopTraining: boolean }, args: EarlyStoppingArgs = {}): Callback {
  const monitor = args.monitor ?? 'val_loss';
  const patience = args.patience ?? 0;
  const minDelta = Math.abs(args.minDelta ?? 0);
  const sign = (args.mode ?? (/acc/.test(monitor) ? 'max' : 'min')) === 'min' ? 1 : -1;
  let best = Infinity;
  let wait = 0;
  return {
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
      } else if (++wait > patience) {
        model.stopTraining = true;
      }
    },
  };
}
