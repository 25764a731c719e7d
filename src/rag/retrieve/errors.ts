/**
 * Retrieval settings that cannot work: a usage error. The template writes each setting it blames as
 * {name} (retrieve()'s option names), so src/apps can put its flags there; the library never names a flag.
 */
import { SettingsError } from '../../train/errors.js';

export class RetrievalSettingsError extends SettingsError {
  override name = 'RetrievalSettingsError';
}

/** Throws unless `value` is an integer >= `min`. */
export function checkInteger(setting: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RetrievalSettingsError(setting, `{${setting}} must be an integer of at least ${min}, not ${value}`);
}

/** Throws unless `value` is a finite number in [min, max]. */
export function checkRange(setting: string, value: number, min: number, max = Infinity): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `at least ${min}` : `between ${min} and ${max}`;
    throw new RetrievalSettingsError(setting, `{${setting}} must be a number ${range}, not ${value}`);
  }
}
