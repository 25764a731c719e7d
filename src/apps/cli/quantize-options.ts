/**
 * Quantization flags shared by `quantize`, `generate --load-in` and
 * `export onnx --quantize` (and a future `serve`): parsers naming the flag,
 * and the library's quantization errors worded with flags.
 */
import { InvalidArgumentError } from 'commander';
import { EMBEDDING_STORAGE, GroupSizeError, GROUP_SIZES, LOAD_IN, QuantizeSettingError, type EmbeddingStorage, type LoadIn } from '../../models/quantize/index.js';
import { CliError, cliErrorFrom, EXIT } from './errors.js';

function oneOf<T extends string | number>(flag: string, allowed: readonly T[], parse: (v: string) => T) {
  return (value: string): T => {
    const v = parse(value);
    if (!allowed.includes(v)) throw new InvalidArgumentError(`${flag} must be ${allowed.join(' or ')}, got '${value}'`);
    return v;
  };
}

export const bitsOption = oneOf('--bits', [8, 4] as const, Number);
export const groupSizeOption = oneOf('--group-size', GROUP_SIZES, Number);
export const embeddingOption = oneOf<EmbeddingStorage>('--embedding', EMBEDDING_STORAGE, (v) => v as EmbeddingStorage);
export const loadInOption = oneOf<Extract<LoadIn, string>>('--load-in', LOAD_IN, (v) => v as Extract<LoadIn, string>);

/** Quantization options' names → the flags of `forja quantize`. */
const FLAGS: Readonly<Record<string, string>> = {
  bits: '--bits',
  group_size: '--group-size',
  sym: '--sym',
  lm_head: '--keep-lm-head',
  embedding: '--embedding',
};

/** A quantization error worded with `flags` (the settings' flags of the command at hand); anything else as cliErrorFrom words it. */
export function quantizeCliError(context: string, err: unknown, flags: Readonly<Record<string, string>> = FLAGS): CliError {
  if (err instanceof GroupSizeError) {
    const flag = flags.group_size ?? 'group_size';
    return new CliError(`${context}: ${err.message.replace(/^group_size/, `${flag}`)}`, EXIT.usage);
  }
  if (err instanceof QuantizeSettingError && flags[err.key]) {
    return new CliError(`${context}: ${flags[err.key]}: ${err.message}`, EXIT.usage);
  }
  return cliErrorFrom(context, err);
}
