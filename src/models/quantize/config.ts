/**
 * What a quantization is asked to do, the `quantization_config` entry of a
 * quantized checkpoint's config.json, and the errors. Keys follow the names
 * GPTQ/AWQ configs use (bits, group_size, sym, modules_to_not_convert);
 * errors name those keys, never CLI flags.
 */
import { QUANTIZED_BITS, type QuantizedBits } from '../../core/ops/quantized.js';
import type { ConfigJson } from '../transformer/config.js';

/** How the input embedding's table is stored (its gather reads one row a token, so this is about memory). */
export const EMBEDDING_STORAGE = ['float32', 'float16', 'quantized'] as const;
export type EmbeddingStorage = (typeof EMBEDDING_STORAGE)[number];

/** Block sizes ONNX Runtime's MatMulNBits takes (powers of two ≥ 16). */
export const GROUP_SIZES = [16, 32, 64, 128] as const;

export const QUANT_METHOD = 'forja';
export const QUANT_FORMAT = 'MatMulNBits';

/** What a caller asks for; everything but `bits` has a default. */
export interface QuantizationOptions {
  bits: number;
  /** Values per block along each linear map's input dimension (default 128, or the largest size that divides every one). */
  group_size?: number;
  /** Symmetric blocks (no zero points) instead of a min/max range (default false). */
  sym?: boolean;
  /** Quantize the LM head too (for a tied model: a quantized copy of the embedding; default true). */
  lm_head?: boolean;
  /** How the input embedding is kept (default 'float16'; 'float32' when a tied model keeps its head in float); 'quantized' shares the head's copy in a tied model. */
  embedding?: EmbeddingStorage;
  /** Linear maps kept in float32, by HF module name or "."-suffix (default none). */
  modules_to_not_convert?: readonly string[];
}

/** `quantization_config` as config.json holds it. */
export interface QuantizationConfig {
  quant_method: typeof QUANT_METHOD;
  format: typeof QUANT_FORMAT;
  bits: QuantizedBits;
  group_size: number;
  sym: boolean;
  lm_head: boolean;
  embedding: EmbeddingStorage;
  modules_to_not_convert: string[];
}

/**
 * Chosen on bench/quantize-quality.ts and bench/generate.ts (README, Quantization): group 128 decodes
 * fastest (int4 GPT-2-small: 4.1 against 6.0 ms a step at group 32) and stays well within the quality
 * targets (int4: +1.1% loss against +0.8%); asymmetric beats symmetric; a float16 embedding loses nothing
 * measurable and halves the table.
 */
export const QUANTIZATION_DEFAULTS = { group_size: 128, sym: false, lm_head: true, embedding: 'float16' } as const;

export class QuantizeError extends Error {
  override name = 'QuantizeError';
}

/** A quantization setting (or a `quantization_config` key) that is invalid; `key` is its name. */
export class QuantizeSettingError extends QuantizeError {
  override name = 'QuantizeSettingError';
  constructor(
    readonly key: keyof QuantizationOptions | 'quant_method' | 'format',
    message: string,
  ) {
    super(message);
  }
}

/** group_size does not divide a linear map's input dimension. */
export class GroupSizeError extends QuantizeError {
  override name = 'GroupSizeError';
  constructor(
    readonly module: string,
    /** The input dimension. */
    readonly k: number,
    readonly groupSize: number,
  ) {
    const fits = GROUP_SIZES.filter((g) => k % g === 0);
    super(`group_size ${groupSize} does not divide the input dimension K = ${k} of ${module}` + (fits.length ? ` (group sizes that divide it: ${fits.join(', ')})` : ` (no supported group size, ${GROUP_SIZES.join('/')}, divides it)`));
  }
}

/** A quantized checkpoint whose tensors are missing, misshapen or of the wrong dtype. */
export class QuantizedCheckpointError extends QuantizeError {
  override name = 'QuantizedCheckpointError';
  constructor(
    readonly tensor: string,
    message: string,
  ) {
    super(message);
  }
}

const describe = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/** Check options and fill in the defaults. `where` starts messages (e.g. a config path). */
export function quantizationConfig(options: QuantizationOptions, where = 'quantization'): QuantizationConfig {
  const { bits } = options;
  if (!QUANTIZED_BITS.includes(bits as QuantizedBits)) {
    throw new QuantizeSettingError('bits', `${where}: bits must be 4 or 8 (MatMulNBits' widths), got ${describe(bits)}`);
  }
  const group = options.group_size ?? QUANTIZATION_DEFAULTS.group_size;
  if (!GROUP_SIZES.includes(group as (typeof GROUP_SIZES)[number])) {
    throw new QuantizeSettingError('group_size', `${where}: group_size must be one of ${GROUP_SIZES.join(', ')}, got ${describe(options.group_size)}`);
  }
  const flag = (key: 'sym' | 'lm_head', fallback: boolean): boolean => {
    const v = options[key] ?? fallback;
    if (typeof v !== 'boolean') throw new QuantizeSettingError(key, `${where}: ${key} must be true or false, got ${describe(v)}`);
    return v;
  };
  const embedding = options.embedding ?? QUANTIZATION_DEFAULTS.embedding;
  if (!EMBEDDING_STORAGE.includes(embedding)) {
    throw new QuantizeSettingError('embedding', `${where}: embedding must be one of ${EMBEDDING_STORAGE.join(', ')}, got ${describe(embedding)}`);
  }
  const skip = options.modules_to_not_convert ?? [];
  if (!Array.isArray(skip) || !skip.every((m) => typeof m === 'string')) {
    throw new QuantizeSettingError('modules_to_not_convert', `${where}: modules_to_not_convert must be a list of module names, got ${describe(skip)}`);
  }
  return {
    quant_method: QUANT_METHOD,
    format: QUANT_FORMAT,
    bits: bits as QuantizedBits,
    group_size: group,
    sym: flag('sym', QUANTIZATION_DEFAULTS.sym),
    lm_head: flag('lm_head', QUANTIZATION_DEFAULTS.lm_head),
    embedding,
    modules_to_not_convert: [...skip],
  };
}

/** The `quantization_config` of a config.json, if it has one (checked). */
export function readQuantizationConfig(json: ConfigJson, where: string): QuantizationConfig | undefined {
  const raw = json.quantization_config;
  if (raw === undefined || raw === null) return undefined;
  const at = `${where} "quantization_config"`;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new QuantizeSettingError('quant_method', `${at} must be an object, got ${describe(raw)}`);
  const q = raw as Record<string, unknown>;
  if (q.quant_method !== QUANT_METHOD) {
    throw new QuantizeSettingError('quant_method', `${at}: quant_method ${describe(q.quant_method)} is not supported (Forja reads its own "${QUANT_METHOD}" checkpoints)`);
  }
  if (q.format !== QUANT_FORMAT) throw new QuantizeSettingError('format', `${at}: format ${describe(q.format)} is not supported (expected "${QUANT_FORMAT}")`);
  for (const key of ['bits', 'group_size', 'sym', 'lm_head', 'embedding'] as const) {
    if (q[key] === undefined) throw new QuantizeSettingError(key, `${at} has no "${key}"`);
  }
  return quantizationConfig(q as unknown as QuantizationOptions, at);
}

/** Whether `module` is kept in float32: named in modules_to_not_convert, or ending with "." + one. */
export const keptFloat = (c: QuantizationConfig, module: string): boolean => c.modules_to_not_convert.some((m) => module === m || module.endsWith(`.${m}`));
