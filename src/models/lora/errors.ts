/**
 * What LoRA throws. Each error carries the facts as fields (the config key,
 * the patterns, the tensor and both shapes), so an app can word them with its
 * own flags; the messages name PEFT's keys and HF's module names.
 */

export class LoraError extends Error {
  override name = 'LoraError';
}

/** A LoraConfig value that is invalid or not supported. */
export class LoraConfigError extends LoraError {
  override name = 'LoraConfigError';
  constructor(
    /** PEFT's key, e.g. "r", "target_modules", "bias". */
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

/** target_modules (or modules_to_save) match nothing in the base, or match a module LoRA cannot adapt. */
export class LoraTargetError extends LoraError {
  override name = 'LoraTargetError';
  constructor(
    readonly key: 'target_modules' | 'modules_to_save',
    readonly patterns: readonly string[] | string,
    /** Some of the base's module names, for the message. */
    readonly modules: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

/** An adapter tensor that does not fit the base: another architecture, hidden size or layer count. */
export class LoraMismatchError extends LoraError {
  override name = 'LoraMismatchError';
  constructor(
    /** The tensor's name in the adapter file. */
    readonly tensor: string,
    /** Its shape in the adapter, or null when the base has no such module. */
    readonly adapterShape: readonly number[] | null,
    /** The shape the base needs, or null when the base has no such module. */
    readonly baseShape: readonly number[] | null,
    message: string,
  ) {
    super(message);
  }
}
