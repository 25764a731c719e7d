/**
 * The callbacks a fine-tuning run adds to the Trainer: progress for an app
 * to draw, early stopping that survives a resume, and checkpoint callbacks
 * that save only at save points.
 */
import { earlyStopping, type Callback } from '../../train/callbacks.js';
import type { Logs } from '../../train/history.js';
import type { Trainer } from '../../train/trainer.js';
import type { FinetuneTask } from './task.js';

/** After every optimizer step: what a progress bar shows. */
export interface FinetuneProgress {
  /** Steps done over the whole run (resumed ones included), and the run's total. */
  step: number;
  totalSteps: number;
  /** The step's loss (mean over its supervised tokens) and the rate it used. */
  loss: number;
  learningRate: number;
  /** Non-padding training tokens of this process's steps, over those steps' wall time. */
  tokensPerSecond: number;
  /** Seconds of this process's steps so far, and an estimate of the rest at the same pace. */
  trainingSeconds: number;
  etaSeconds: number;
}

/** After every evaluation. */
export interface FinetuneEvaluation {
  step: number;
  /** Mean training loss over the interval's supervised tokens. */
  trainLoss: number;
  valLoss: number | undefined;
  valPerplexity: number | undefined;
}

export function progressCallback(task: FinetuneTask, hooks: { onStep?: (p: FinetuneProgress) => unknown; onEvaluation?: (e: FinetuneEvaluation) => unknown }): Callback {
  let trainer!: Trainer;
  let started = 0;
  let seconds = 0;
  let steps = 0;
  return {
    setTrainer: (t) => (trainer = t),
    onBatchBegin: () => void (started = performance.now()),
    async onBatchEnd(_batch, logs) {
      seconds += (performance.now() - started) / 1000;
      steps++;
      const step = trainer.position.globalStep;
      const totalSteps = task.plan.totalSteps;
      await hooks.onStep?.({
        step,
        totalSteps,
        loss: logs.loss!,
        learningRate: logs.lr!,
        tokensPerSecond: seconds > 0 ? task.tokensTrained / seconds : 0,
        trainingSeconds: seconds,
        etaSeconds: (seconds / steps) * (totalSteps - step),
      });
    },
    async onEpochEnd(_epoch, logs) {
      await hooks.onEvaluation?.({ step: trainer.position.globalStep, trainLoss: logs.loss!, valLoss: logs.val_loss, valPerplexity: logs.val_perplexity });
    },
  };
}

/**
 * HF's EarlyStoppingCallback on val_loss through the Trainer's earlyStopping.
 * Its count of evaluations without improvement is not in the checkpoint, so
 * on a resume it is rebuilt by replaying the restored history.
 */
export function resumableEarlyStopping(patience: number, threshold: number): Callback {
  const inner = earlyStopping({ monitor: 'val_loss', patience: patience - 1, minDelta: threshold, mode: 'min' });
  let trainer!: Trainer;
  return {
    setTrainer: (t) => {
      trainer = t;
      inner.setTrainer?.(t);
    },
    async onTrainBegin(logs) {
      await inner.onTrainBegin?.(logs);
      for (const { epoch, ...row } of trainer.history.rows()) if (row.val_loss !== undefined) await inner.onEpochEnd?.(epoch, row);
    },
    onEpochEnd: (epoch, logs) => inner.onEpochEnd?.(epoch, logs),
  };
}

/** `callback` with its onEpochEnd called only when `due(logs)` says so; its other hooks as they are. */
export function atSavePoints(callback: Callback, due: (logs: Logs) => boolean): Callback {
  return {
    setTrainer: (t) => callback.setTrainer?.(t),
    onTrainBegin: (logs) => callback.onTrainBegin?.(logs),
    onEpochEnd: (epoch, logs) => (due(logs) ? callback.onEpochEnd?.(epoch, logs) : undefined),
    onTrainEnd: (logs) => callback.onTrainEnd?.(logs),
  };
}
