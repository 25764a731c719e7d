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

/**
 * Settings that contradict themselves, the data, the machine or the run being
 * resumed: a usage error. `template` writes each setting it blames as {name},
 * so an app can put its own names there (the CLI: flags); the library's own
 * message uses the settings' names.
 */
export class SettingsError extends Error {
  override name = 'SettingsError';
  constructor(
    /** The setting at fault. */
    readonly setting: string,
    readonly template: string,
  ) {
    super(fillTemplate(template, (s) => s));
  }

  /** The message with every {setting} written as `nameOf` says. */
  wordWith(nameOf: (setting: string) => string): string {
    return fillTemplate(this.template, nameOf);
  }
}

const fillTemplate = (template: string, nameOf: (setting: string) => string): string => template.replace(/\{(\w+)\}/g, (_, s: string) => nameOf(s));

/** Logs → a readable list, for messages. */
export function describeLogs(logs: Logs): string {
  return Object.entries(logs)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
