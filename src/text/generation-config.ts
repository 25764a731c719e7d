/**
 * Generation settings under Hugging Face's names (the keys of generation_config.json), their
 * camelCase aliases, validation, and resolution into the concrete values one `generate` call uses.
 * Length rules follow transformers' `_prepare_generated_length`.
 */

export type EarlyStopping = boolean | 'never';

/** Generation settings as transformers names them (generate kwargs and generation_config.json). */
export interface GenerationConfig {
  /** Prompt + new tokens. Overridden by max_new_tokens. */
  max_length?: number;
  max_new_tokens?: number;
  /** Prompt + new tokens before EOS may be chosen. Overridden by min_new_tokens. */
  min_length?: number;
  min_new_tokens?: number;
  do_sample?: boolean;
  temperature?: number;
  top_k?: number;
  top_p?: number;
  min_p?: number;
  num_beams?: number;
  length_penalty?: number;
  early_stopping?: EarlyStopping;
  repetition_penalty?: number;
  no_repeat_ngram_size?: number;
  eos_token_id?: number | number[];
  pad_token_id?: number;
  stop_strings?: string | string[];
  /** Seed of the sampling RNG (sampling is reproducible only with a seed). */
  seed?: number;
}

const CAMEL_ALIASES = {
  maxLength: 'max_length',
  maxNewTokens: 'max_new_tokens',
  minLength: 'min_length',
  minNewTokens: 'min_new_tokens',
  doSample: 'do_sample',
  topK: 'top_k',
  topP: 'top_p',
  minP: 'min_p',
  numBeams: 'num_beams',
  lengthPenalty: 'length_penalty',
  earlyStopping: 'early_stopping',
  repetitionPenalty: 'repetition_penalty',
  noRepeatNgramSize: 'no_repeat_ngram_size',
  eosTokenId: 'eos_token_id',
  padTokenId: 'pad_token_id',
  stopStrings: 'stop_strings',
} as const satisfies Record<string, keyof GenerationConfig>;

type CamelAliases = { [K in keyof typeof CAMEL_ALIASES]?: GenerationConfig[(typeof CAMEL_ALIASES)[K]] };

/** GenerationConfig plus camelCase spellings (`maxNewTokens` for `max_new_tokens`, ...). */
export type GenerationOptions = GenerationConfig & CamelAliases;

/** Everything one generation run needs, with defaults filled in. */
export interface ResolvedGenerationConfig {
  /** Prompt (padded) + new tokens. */
  maxLength: number;
  /** EOS is banned while a sequence is shorter than this. */
  minLength: number;
  doSample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  minP: number | undefined;
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: EarlyStopping;
  repetitionPenalty: number;
  noRepeatNgramSize: number;
  eosTokenIds: number[];
  /** Fills finished rows; transformers falls back to the first EOS id. */
  padTokenId: number | undefined;
  stopStrings: string[];
  seed: number | undefined;
}

/** transformers' GenerationConfig defaults. */
const DEFAULT_MAX_LENGTH = 20;
const DEFAULT_TOP_K = 50;

type Check = (value: unknown) => boolean;

const isInt = (min: number): Check => (v) => typeof v === 'number' && Number.isInteger(v) && v >= min;
const isNumberIn =
  (lo: number, hi: number, loOpen = false): Check =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && v <= hi;
const isTokenIdList: Check = (v) => isInt(0)(v) || (Array.isArray(v) && v.every(isInt(0)));
const isStopStrings: Check = (v) =>
  (typeof v === 'string' && v.length > 0) || (Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length > 0));

const FIELDS: Record<keyof GenerationConfig, { check: Check; expected: string }> = {
  max_length: { check: isInt(1), expected: 'a positive integer' },
  max_new_tokens: { check: isInt(1), expected: 'a positive integer' },
  min_length: { check: isInt(0), expected: 'a non-negative integer' },
  min_new_tokens: { check: isInt(0), expected: 'a non-negative integer' },
  do_sample: { check: (v) => typeof v === 'boolean', expected: 'true or false' },
  temperature: { check: isNumberIn(0, Infinity), expected: 'a non-negative number' },
  top_k: { check: isInt(0), expected: 'a non-negative integer' },
  top_p: { check: isNumberIn(0, 1), expected: 'a number in [0, 1]' },
  min_p: { check: isNumberIn(0, 1), expected: 'a number in [0, 1]' },
  num_beams: { check: isInt(1), expected: 'a positive integer' },
  length_penalty: { check: isNumberIn(-Infinity, Infinity), expected: 'a finite number' },
  early_stopping: { check: (v) => typeof v === 'boolean' || v === 'never', expected: "true, false or 'never'" },
  repetition_penalty: { check: isNumberIn(0, Infinity, true), expected: 'a positive number' },
  no_repeat_ngram_size: { check: isInt(0), expected: 'a non-negative integer' },
  eos_token_id: { check: isTokenIdList, expected: 'a token id or a list of token ids' },
  pad_token_id: { check: isInt(0), expected: 'a token id' },
  stop_strings: { check: isStopStrings, expected: 'a non-empty string or a list of them' },
  seed: { check: (v) => typeof v === 'number' && Number.isInteger(v), expected: 'an integer' },
};

function shown(value: unknown): string {
  return typeof value === 'string' || Array.isArray(value) ? JSON.stringify(value) : String(value);
}

function checked(key: keyof GenerationConfig, value: unknown, source: string): unknown {
  const field = FIELDS[key];
  if (!field.check(value)) throw new Error(`${source}: ${key} must be ${field.expected}, received ${shown(value)}`);
  return value;
}

/**
 * Read the generation keys of a generation_config.json object. Unknown keys and nulls are skipped
 * (transformers writes many of both); a known key with a wrong value is an error naming `source`.
 */
export function generationConfigFromJson(json: Record<string, unknown>, source = 'generation_config.json'): GenerationConfig {
  const config: Record<string, unknown> = {};
  for (const key of Object.keys(FIELDS) as (keyof GenerationConfig)[]) {
    const value = json[key];
    if (value !== undefined && value !== null) config[key] = checked(key, value, source);
  }
  return config as GenerationConfig;
}

/** Fold camelCase aliases into HF names and validate every value. Giving both spellings with different values is an error. */
export function normalizeGenerationOptions(options: GenerationOptions, source = 'generate'): GenerationConfig {
  const config: Record<string, unknown> = {};
  const raw = options as Record<string, unknown>;
  for (const key of Object.keys(FIELDS) as (keyof GenerationConfig)[]) {
    if (raw[key] !== undefined) config[key] = checked(key, raw[key], source);
  }
  for (const [camel, key] of Object.entries(CAMEL_ALIASES)) {
    const value = raw[camel];
    if (value === undefined) continue;
    checked(key, value, source);
    if (config[key] !== undefined && JSON.stringify(config[key]) !== JSON.stringify(value)) {
      throw new Error(`${source}: ${camel} (${shown(value)}) and ${key} (${shown(config[key])}) disagree; give one of them`);
    }
    config[key] = value;
  }
  return config as GenerationConfig;
}

export interface ResolveContext {
  /** Length of the (left-padded) prompt rows. */
  promptLength: number;
  /** The model's context length. */
  maxPositions: number;
  source?: string;
}

const tokens = (n: number): string => `${n} token${n === 1 ? '' : 's'}`;

function asList<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? [...value] : [value];
}

/**
 * max_length for this prompt. Explicit requests beyond the context length are errors; the
 * defaults (20 new tokens, or a max_length from generation_config.json) are clamped to it, as
 * transformers clamps its default.
 */
function resolveMaxLength(options: GenerationConfig, defaults: GenerationConfig, ctx: ResolveContext, source: string): number {
  const { promptLength, maxPositions } = ctx;
  if (promptLength >= maxPositions) {
    throw new Error(`${source}: the prompt has ${tokens(promptLength)} but the model's context length is ${maxPositions}, leaving no room for new tokens`);
  }
  if (options.max_new_tokens !== undefined || options.max_length !== undefined) {
    const maxLength = options.max_new_tokens !== undefined ? promptLength + options.max_new_tokens : options.max_length!;
    const asked = options.max_new_tokens !== undefined
      ? `prompt (${tokens(promptLength)}) + max_new_tokens (${options.max_new_tokens}) = ${maxLength}`
      : `max_length ${maxLength}`;
    if (maxLength > maxPositions) throw new Error(`${source}: ${asked} exceeds the model's context length of ${maxPositions} positions`);
    if (maxLength <= promptLength) {
      throw new Error(`${source}: max_length ${maxLength} leaves no room for new tokens after the ${promptLength}-token prompt`);
    }
    return maxLength;
  }
  let maxLength: number;
  if (defaults.max_new_tokens !== undefined) maxLength = promptLength + defaults.max_new_tokens;
  else if (defaults.max_length !== undefined && defaults.max_length !== DEFAULT_MAX_LENGTH) maxLength = defaults.max_length;
  else maxLength = promptLength + DEFAULT_MAX_LENGTH;
  maxLength = Math.min(maxLength, maxPositions);
  if (maxLength <= promptLength) {
    throw new Error(`${source}: the generation_config.json max_length ${maxLength} leaves no room for new tokens after the ${promptLength}-token prompt`);
  }
  return maxLength;
}

/**
 * Merge call options over defaults (from generation_config.json) and fill in transformers'
 * defaults. `options` must already be normalized (see normalizeGenerationOptions).
 */
export function resolveGenerationConfig(
  options: GenerationConfig,
  defaults: GenerationConfig,
  ctx: ResolveContext,
): ResolvedGenerationConfig {
  const source = ctx.source ?? 'generate';
  const merged: GenerationConfig = { ...defaults, ...options };
  const maxLength = resolveMaxLength(options, defaults, ctx, source);
  const minLength = merged.min_new_tokens !== undefined ? ctx.promptLength + merged.min_new_tokens : (merged.min_length ?? 0);
  const doSample = merged.do_sample ?? false;
  const temperature = merged.temperature ?? 1;
  if (doSample && temperature <= 0) {
    throw new Error(`${source}: temperature must be positive when sampling, received ${temperature} (use do_sample: false for greedy decoding)`);
  }
  const eosTokenIds = asList(merged.eos_token_id);
  return {
    maxLength,
    minLength,
    doSample,
    temperature,
    topK: merged.top_k ?? DEFAULT_TOP_K,
    topP: merged.top_p ?? 1,
    minP: merged.min_p,
    numBeams: merged.num_beams ?? 1,
    lengthPenalty: merged.length_penalty ?? 1,
    earlyStopping: merged.early_stopping ?? false,
    repetitionPenalty: merged.repetition_penalty ?? 1,
    noRepeatNgramSize: merged.no_repeat_ngram_size ?? 0,
    eosTokenIds,
    padTokenId: merged.pad_token_id ?? eosTokenIds[0],
    stopStrings: asList(merged.stop_strings),
    seed: merged.seed,
  };
}
