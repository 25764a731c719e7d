/**
 * What training throws. Each error carries the facts as fields, so an app can
 * word them in its own terms (the CLI names flags; the library never does).
 */
import type { Logs } from './history.js';

export interface StepPosition {
  epoch: number;
  step: number;
  globalStep: number;
}

/** A step or a validation gave a non-finite value; the weights are those of the last committed step. */
export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
  constructor(
    readonly position: StepPosition,
    /** "loss is NaN, ...". */
    readonly values: string,
    readonly during: 'step' | 'validation',
  ) {
    const where = during === 'step' ? `at epoch ${position.epoch + 1}, step ${position.step + 1} (step ${position.globalStep + 1} of the run)` : `in the validation after epoch ${position.epoch + 1}`;
    super(`training diverged ${where}: ${values}; the weights were not updated by that step`);
  }
}

/** A checkpoint that cannot be read, or that does not belong to the model being trained. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** A setting given for a resumed run differs from the one the run was started with. */
export class ResumeMismatchError extends Error {
  override name = 'ResumeMismatchError';
  constructor(
    /** The setting's name in the task's settings (batchSize, lr...). */
    readonly setting: string,
    readonly given: unknown,
    readonly saved: unknown,
    readonly path: string,
  ) {
    super(`${setting} ${String(given)} differs from the run being resumed (${String(saved)}, in ${path}); resume with the same settings`);
  }
}

/** Logs → a readable list, for messages. */
export function describeLogs(logs: Logs): string {
  return Object.entries(logs)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
