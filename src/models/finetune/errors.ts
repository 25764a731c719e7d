/**
 * What fine-tuning throws, with the facts as fields. A message writes each
 * setting it blames as {name} in its template, so an app can put its own
 * names there (the CLI: flags); the library never names a flag.
 */
import { SettingsError } from '../../train/errors.js';

/** Every name a message can blame: a training argument, or one of finetune()'s other inputs. */
export type FinetuneSettingName = string;

/** Settings that contradict themselves, the data, the model or the run being resumed: a usage error. */
export class FinetuneSettingsError extends SettingsError {
  override name = 'FinetuneSettingsError';
  constructor(
    /** The setting at fault (learning_rate, output_dir, data...). */
    override readonly setting: FinetuneSettingName,
    template: string,
  ) {
    super(setting, template);
  }
}

/** output_dir is the base model's own directory: saving there would overwrite the model being fine-tuned. */
export class OutputIsBaseModelError extends FinetuneSettingsError {
  override name = 'OutputIsBaseModelError';
  constructor(
    readonly outputDir: string,
    /** The base model's directory (a cache snapshot for a hub id). */
    readonly baseDir: string,
  ) {
    super('output_dir', `{output_dir} ${outputDir} is the directory of the base model being fine-tuned (${baseDir}); saving there would overwrite it: choose another {output_dir}`);
  }
}

/** A batch (or a whole validation split) with no label to learn: its mean loss would be 0/0. */
export class NoSupervisedTokensError extends Error {
  override name = 'NoSupervisedTokensError';
  constructor(
    readonly split: 'train' | 'validation',
    /** The optimizer step (0-based) whose micro-batches had no supervised token; undefined for a whole split. */
    readonly step: number | undefined,
  ) {
    super(
      step === undefined
        ? `every label of the ${split} data is masked (-100): there is nothing to compute a loss on`
        : `every label of training step ${step + 1}'s batch is masked (-100): there is nothing to learn from it; the data should drop rows without a completion or assistant token`,
    );
  }
}
