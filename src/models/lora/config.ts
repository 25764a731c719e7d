/**
 * LoRA settings as PEFT names and writes them (adapter_config.json), with
 * PEFT's defaults and per-architecture targets. Refuses, naming the key, what
 * Forja does not implement (DoRA, LoRA biases, layer replication...).
 */
import type { JsonObject } from '../../io/hf-checkpoint.js';
import { LoraConfigError } from './errors.js';

/**
 * A LoRA adapter's configuration. The fields are snake_case on purpose: this
 * is PEFT's LoraConfig, read from and written to adapter_config.json as is.
 */
export interface LoraConfig {
  readonly peft_type: 'LORA';
  readonly task_type: 'CAUSAL_LM';
  /** Rank of the update B·A. */
  r: number;
  /** The update is scaled by lora_alpha / r (lora_alpha / √r with use_rslora). */
  lora_alpha: number;
  /** Dropout on each adapted map's input, before lora_A (training only). */
  lora_dropout: number;
  /**
   * Which linear maps get an adapter, by HF module name: a list of names or
   * name suffixes (after a "."), a regular expression matched against the
   * whole name (a string, as PEFT), "all-linear" (every linear map but the
   * output head), or null for the architecture's default (PEFT's table).
   */
  target_modules: readonly string[] | string | null;
  /** Modules never adapted, in target_modules' syntax; null for none. */
  exclude_modules: readonly string[] | string | null;
  /**
   * The base layer stores its weight [in, out] (GPT-2's Conv1D) rather than
   * nn.Linear's [out, in]. Forja sets it from the architecture, as PEFT does.
   */
  fan_in_fan_out: boolean;
  /** Rank-stabilised scaling: lora_alpha / √r instead of lora_alpha / r. */
  use_rslora: boolean;
  /**
   * Modules trained in full and saved with the adapter (module-name suffixes,
   * as PEFT matches them), e.g. a resized embedding and head; null for none.
   */
  modules_to_save: readonly string[] | null;
  /** Only "none": no bias is trained. */
  bias: 'none';
  base_model_name_or_path: string | null;
  /** Per-module rank, by name pattern (the module name ends with the key). */
  rank_pattern: Readonly<Record<string, number>>;
  /** Per-module lora_alpha, by name pattern. */
  alpha_pattern: Readonly<Record<string, number>>;
  /** true: lora_A kaiming-uniform, lora_B zero (PEFT's default); "gaussian": lora_A ~ N(0, 1/r); false: both random (tests). */
  init_lora_weights: boolean | 'gaussian';
  inference_mode: boolean;
}

/** What `loraConfig` accepts: any subset of the fields; the rest take PEFT's defaults. */
export type LoraOptions = Partial<LoraConfig>;

/** PEFT's "all linear layers except the output head". */
export const ALL_LINEAR = 'all-linear';

/** PEFT's default LoRA targets per model_type (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
export const DEFAULT_TARGET_MODULES: Readonly<Record<string, readonly string[]>> = {
  gpt2: ['c_attn'],
  llama: ['q_proj', 'v_proj'],
  qwen2: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
};

const DEFAULTS: LoraConfig = {
  peft_type: 'LORA',
  task_type: 'CAUSAL_LM',
  r: 8,
  lora_alpha: 8,
  lora_dropout: 0,
  target_modules: null,
  exclude_modules: null,
  fan_in_fan_out: false,
  use_rslora: false,
  modules_to_save: null,
  bias: 'none',
  base_model_name_or_path: null,
  rank_pattern: {},
  alpha_pattern: {},
  init_lora_weights: true,
  inference_mode: false,
};

const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

const fail = (key: string, message: string): never => {
  throw new LoraConfigError(key, message);
};

function positiveInt(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(key, `${key} must be a positive integer, received ${show(v)}`);
  return v as number;
}

function positiveNumber(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(key, `${key} must be a positive number, received ${show(v)}`);
  return v as number;
}

function bool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(key, `${key} must be true or false, received ${show(v)}`);
  return v as boolean;
}

function names(key: string, v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string' && s.length > 0)) {
    fail(key, `${key} must be a non-empty list of module names, received ${show(v)}`);
  }
  return [...(v as string[])];
}

/** A list, a regex string (checked to compile) or null. */
function modulePattern(key: string, v: unknown): string[] | string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') {
    if (v.toLowerCase() === ALL_LINEAR) return key === 'target_modules' ? ALL_LINEAR : fail(key, `${key} cannot be "${ALL_LINEAR}"`);
    fullMatcher(key, v);
    return v;
  }
  return names(key, v);
}

function patternTable(key: string, v: unknown, value: (k: string, x: unknown) => number): Record<string, number> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) fail(key, `${key} must be an object of module pattern → number, received ${show(v)}`);
  return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, value(`${key}["${k}"]`, x)]));
}

/**
 * A regex string as PEFT applies it (re.fullmatch). Python's named groups
 * (?P<name>…) and backreferences (?P=name) are rewritten to JavaScript's.
 */
export function fullMatcher(key: string, pattern: string): RegExp {
  const js = pattern.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  try {
    return new RegExp(`^(?:${js})$`);
  } catch (err) {
    return fail(key, `${key} "${pattern}" is not a valid regular expression (${(err as Error).message})`);
  }
}

/** A complete, checked LoraConfig: PEFT's defaults for what `options` leaves out. */
export function loraConfig(options: LoraOptions = {}): LoraConfig {
  const o = { ...DEFAULTS, ...definedOnly(options) } as Record<string, unknown>;
  if (o.peft_type !== 'LORA') fail('peft_type', `peft_type "${String(o.peft_type)}" is not supported: only "LORA"`);
  if (o.task_type !== 'CAUSAL_LM') fail('task_type', `task_type "${String(o.task_type)}" is not supported: only "CAUSAL_LM"`);
  if (o.bias !== 'none') {
    fail('bias', `bias ${show(o.bias)} is not supported: only "none" (Forja trains no bias; PEFT's "all" and "lora_only" would change the base's biases)`);
  }
  const dropout = o.lora_dropout;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) fail('lora_dropout', `lora_dropout must be in [0, 1), received ${show(dropout)}`);
  const init = o.init_lora_weights;
  if (init !== true && init !== false && init !== 'gaussian') {
    fail('init_lora_weights', `init_lora_weights ${show(init)} is not supported: true, false or "gaussian"`);
  }
  const base = o.base_model_name_or_path;
  if (base !== null && typeof base !== 'string') fail('base_model_name_or_path', `base_model_name_or_path must be a string or null, received ${show(base)}`);
  const config: LoraConfig = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    r: positiveInt('r', o.r),
    lora_alpha: positiveNumber('lora_alpha', o.lora_alpha),
    lora_dropout: dropout as number,
    target_modules: modulePattern('target_modules', o.target_modules),
    exclude_modules: modulePattern('exclude_modules', o.exclude_modules),
    fan_in_fan_out: bool('fan_in_fan_out', o.fan_in_fan_out),
    use_rslora: bool('use_rslora', o.use_rslora),
    modules_to_save: o.modules_to_save === null ? null : names('modules_to_save', o.modules_to_save),
    bias: 'none',
    base_model_name_or_path: base as string | null,
    rank_pattern: patternTable('rank_pattern', o.rank_pattern, positiveInt),
    alpha_pattern: patternTable('alpha_pattern', o.alpha_pattern, positiveNumber),
    init_lora_weights: init as LoraConfig['init_lora_weights'],
    inference_mode: bool('inference_mode', o.inference_mode),
  };
  if (config.use_rslora && (Object.keys(config.rank_pattern).length || Object.keys(config.alpha_pattern).length)) {
    // PEFT refuses the same combination.
    fail('use_rslora', 'use_rslora cannot be combined with rank_pattern or alpha_pattern');
  }
  return config;
}

const definedOnly = (o: object): object => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** PEFT keys whose non-default values change what the adapter computes, and Forja does not implement. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  use_dora: 'DoRA',
  lora_bias: 'LoRA biases',
  use_qalora: 'QA-LoRA',
  layers_to_transform: 'adapting only some layers',
  layers_pattern: 'adapting only some layers',
  layer_replication: 'layer replication',
  trainable_token_indices: 'trainable tokens',
  target_parameters: 'adapters on parameters',
  alora_invocation_tokens: 'activated LoRA',
  arrow_config: 'Arrow routing',
  velora_config: 'VeLoRA',
  kasa_config: 'KaSA',
  monteclora_config: 'MonteCLoRA',
  use_bdlora: 'block-diagonal LoRA',
  megatron_config: 'Megatron layers',
};

const isDefault = (v: unknown): boolean =>
  v === undefined || v === null || v === false || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

/** Read adapter_config.json's object; `where` (its path) starts every error. Unknown keys are ignored, as PEFT ignores them. */
export function parseLoraConfig(json: JsonObject, where: string): LoraConfig {
  for (const [key, feature] of Object.entries(UNSUPPORTED)) {
    if (!isDefault(json[key])) throw new LoraConfigError(key, `${where}: ${key} = ${show(json[key])} is not supported (${feature})`);
  }
  const options: Record<string, unknown> = {};
  for (const key of Object.keys(DEFAULTS)) if (json[key] !== undefined) options[key] = json[key];
  // PEFT writes task_type null for a PeftModel made without one; its keys are the same.
  if (options.task_type === null) delete options.task_type;
  try {
    return loraConfig(options as LoraOptions);
  } catch (err) {
    if (err instanceof LoraConfigError) throw new LoraConfigError(err.key, `${where}: ${err.message}`);
    throw err;
  }
}

/** The PEFT version whose adapter_config.json key set Forja writes (the one the fixtures were made with). */
export const PEFT_FORMAT_VERSION = '0.21.0';

/**
 * adapter_config.json as PEFT 0.21 writes it: every key PEFT writes, Forja's
 * values for the ones it implements and PEFT's defaults for the rest, so PEFT
 * reads it without warnings. target_modules is written resolved (a list of
 * names) when given as a list; a regex string stays a string.
 */
export function loraConfigJson(c: LoraConfig): JsonObject {
  const list = (v: readonly string[] | string | null) => (v === null || typeof v === 'string' ? v : [...v].sort());
  const json: JsonObject = {
    alora_invocation_tokens: null,
    alpha_pattern: { ...c.alpha_pattern },
    arrow_config: null,
    auto_mapping: null,
    base_model_name_or_path: c.base_model_name_or_path,
    bias: c.bias,
    corda_config: null,
    ensure_weight_tying: false,
    eva_config: null,
    exclude_modules: list(c.exclude_modules),
    fan_in_fan_out: c.fan_in_fan_out,
    inference_mode: c.inference_mode,
    init_lora_weights: c.init_lora_weights,
    kasa_config: null,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: c.lora_alpha,
    lora_bias: false,
    lora_dropout: c.lora_dropout,
    lora_ga_config: null,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: c.modules_to_save === null ? null : [...c.modules_to_save],
    monteclora_config: null,
    peft_type: c.peft_type,
    peft_version: PEFT_FORMAT_VERSION,
    qalora_group_size: 16,
    r: c.r,
    rank_pattern: { ...c.rank_pattern },
    revision: null,
    target_modules: list(c.target_modules),
    target_parameters: null,
    task_type: c.task_type,
    trainable_token_indices: null,
    use_bdlora: null,
    use_dora: false,
    use_qalora: false,
    use_rslora: c.use_rslora,
    velora_config: null,
  };
  return json;
}

/**
 * The key of `patterns` that applies to `module`, as PEFT's get_pattern_key:
 * the first key k such that the module name is k or ends with "." + k
 * (k itself may be a regex).
 */
export function patternKeyFor(patterns: Readonly<Record<string, number>>, module: string): string | undefined {
  return Object.keys(patterns).find((k) => fullMatcher('rank_pattern', `(.*\\.)?(${k})`).test(module));
}

/** Rank, alpha and the update's scale for one module. */
export function moduleScaling(c: LoraConfig, module: string): { r: number; alpha: number; scale: number } {
  const rKey = patternKeyFor(c.rank_pattern, module);
  const aKey = patternKeyFor(c.alpha_pattern, module);
  const r = rKey === undefined ? c.r : c.rank_pattern[rKey]!;
  const alpha = aKey === undefined ? c.lora_alpha : c.alpha_pattern[aKey]!;
  return { r, alpha, scale: c.use_rslora ? alpha / Math.sqrt(r) : alpha / r };
}
