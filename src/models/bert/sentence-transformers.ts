/**
 * The sentence-transformers layout: modules.json naming a Transformer, a
 * Pooling (1_Pooling/config.json) and optionally a Normalize module;
 * sentence_bert_config.json (max_seq_length) and config_sentence_transformers.json
 * (prompts). Both the old key style (pooling_mode_mean_tokens: true) and the
 * new one (pooling_mode: "mean") are read.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonObject, type JsonObject } from '../../io/hf-checkpoint.js';
import { ConfigError } from '../transformer/config.js';
import { isPoolingMode, POOLING_MODES, type PoolingMode } from './pooling.js';

/** A sentence-transformers file that is missing, malformed or asks for something Forja does not compute. */
export class SentenceTransformersError extends ConfigError {
  override name = 'SentenceTransformersError';
  constructor(
    /** The file at fault. */
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

export const MODULES_FILE = 'modules.json';
/** Files of the layout the hub resolver should fetch besides config and tokenizer. */
export const SENTENCE_TRANSFORMERS_FILES = [MODULES_FILE, 'sentence_bert_config.json', 'config_sentence_transformers.json'] as const;

export interface SentenceTransformerLayout {
  /** Directory of the Transformer module (the root unless modules.json gives it a path). */
  transformerDir: string;
  pooling: PoolingMode;
  /** The pipeline ends in a Normalize module. */
  normalize: boolean;
  /** Pooling's embedding_dimension, when given, and the file that gives it. */
  dimension: number | undefined;
  poolingFile: string;
  maxSeqLength: number | undefined;
  /** config_sentence_transformers.json prompts, by name. */
  prompts: Readonly<Record<string, string>>;
  defaultPromptName: string | undefined;
  /** False: prompt tokens are left out of the pooled mean (not computed by Forja). */
  includePrompt: boolean;
}

interface ModuleEntry {
  path: string;
  kind: 'Transformer' | 'Pooling' | 'Normalize';
}

const KINDS = ['Transformer', 'Pooling', 'Normalize'] as const;

/** modules.json's entries in order, each a Transformer, Pooling or Normalize module. */
export async function readModules(root: string): Promise<ModuleEntry[]> {
  const file = join(root, MODULES_FILE);
  if (!existsSync(file)) throw new SentenceTransformersError(file, 'not found, so this is not a sentence-transformers model directory');
  const list = await readJsonArray(file);
  const entries = list.map((m, i): ModuleEntry => {
    const type = typeof m?.type === 'string' ? m.type : undefined;
    const kind = KINDS.find((k) => type?.endsWith(`.${k}`));
    if (!kind) throw new SentenceTransformersError(file, `module ${i} has type ${JSON.stringify(m?.type)}, which Forja does not compute (supported: ${KINDS.join(', ')})`);
    const path = typeof m?.path === 'string' ? m.path : '';
    if (path.split(/[\\/]/).includes('..')) throw new SentenceTransformersError(file, `module ${i} has path ${JSON.stringify(path)} outside the model directory`);
    return { path, kind };
  });
  const order = entries.map((e) => e.kind).join(' → ');
  const valid = /^Transformer → Pooling( → Normalize)?$/.test(order);
  if (!valid) throw new SentenceTransformersError(file, `modules are ${order || 'empty'}; Forja computes Transformer → Pooling, optionally → Normalize`);
  return entries;
}

/** Everything the layout says about how to embed, read from `root`. */
export async function readSentenceTransformerLayout(root: string): Promise<SentenceTransformerLayout> {
  const modules = await readModules(root);
  const transformerDir = join(root, modules[0]!.path);
  const poolingFile = join(root, modules[1]!.path, 'config.json');
  const poolingConfig = await readJsonObject(poolingFile);
  if (!poolingConfig) throw new SentenceTransformersError(poolingFile, 'not found (modules.json lists a Pooling module here)');
  const stFile = join(transformerDir, 'sentence_bert_config.json');
  const stConfig = (await readJsonObject(stFile)) ?? {};
  const promptsFile = join(root, 'config_sentence_transformers.json');
  const promptsConfig = (await readJsonObject(promptsFile)) ?? {};
  const dimension = poolingConfig.embedding_dimension ?? poolingConfig.word_embedding_dimension;
  return {
    transformerDir,
    pooling: poolingModeOf(poolingConfig, poolingFile),
    normalize: modules.length === 3,
    dimension: typeof dimension === 'number' ? dimension : undefined,
    poolingFile,
    maxSeqLength: positiveIntOrUndefined(stConfig.max_seq_length, stFile, 'max_seq_length'),
    prompts: promptsOf(promptsConfig, promptsFile),
    defaultPromptName: typeof promptsConfig.default_prompt_name === 'string' ? promptsConfig.default_prompt_name : undefined,
    includePrompt: poolingConfig.include_prompt !== false,
  };
}

/** Old-style boolean keys → the mode name they stand for (null: a mode Forja does not compute). */
const OLD_KEYS: Readonly<Record<string, PoolingMode | null>> = {
  pooling_mode_cls_token: 'cls',
  pooling_mode_mean_tokens: 'mean',
  pooling_mode_max_tokens: 'max',
  pooling_mode_mean_sqrt_len_tokens: null,
  pooling_mode_weightedmean_tokens: null,
  pooling_mode_lasttoken: null,
};

/** The one pooling mode of a 1_Pooling/config.json. */
export function poolingModeOf(config: JsonObject, file: string): PoolingMode {
  const supported = `supported: ${POOLING_MODES.join(', ')}`;
  let named = config.pooling_mode;
  if (Array.isArray(named) && named.length === 1) named = named[0];
  if (named !== undefined) {
    if (isPoolingMode(named)) return named;
    throw new SentenceTransformersError(file, `pooling mode ${JSON.stringify(named)} is not supported (${supported})`);
  }
  const on = Object.keys(OLD_KEYS).filter((k) => config[k] === true);
  if (on.length !== 1) {
    throw new SentenceTransformersError(file, on.length ? `sets several pooling modes (${on.join(', ')}); Forja computes one (${supported})` : `names no pooling mode (${supported})`);
  }
  const mode = OLD_KEYS[on[0]!];
  if (!mode) throw new SentenceTransformersError(file, `pooling mode ${on[0]} is not supported (${supported})`);
  return mode;
}

function promptsOf(config: JsonObject, file: string): Record<string, string> {
  const prompts = config.prompts;
  if (prompts === undefined || prompts === null) return {};
  if (typeof prompts !== 'object' || Array.isArray(prompts) || !Object.values(prompts).every((v) => typeof v === 'string')) {
    throw new SentenceTransformersError(file, `"prompts" must map names to strings, received ${JSON.stringify(prompts)}`);
  }
  return prompts as Record<string, string>;
}

function positiveIntOrUndefined(v: unknown, file: string, key: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new SentenceTransformersError(file, `"${key}" must be a positive integer, received ${JSON.stringify(v)}`);
  return v;
}

async function readJsonArray(file: string): Promise<Array<Record<string, unknown> | undefined>> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new SentenceTransformersError(file, `not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(value)) throw new SentenceTransformersError(file, 'expected a list of modules');
  return value as Array<Record<string, unknown> | undefined>;
}

/** Prompt names sentence-transformers models use for each side of a retrieval pair. */
const ROLE_PROMPTS = { query: ['query'], passage: ['passage', 'document', 'corpus', 'doc'] } as const;

/** The prompt for `role` among a layout's prompts ('' when it has none). */
export function promptFor(prompts: Readonly<Record<string, string>>, role: keyof typeof ROLE_PROMPTS): string {
  for (const name of ROLE_PROMPTS[role]) if (prompts[name] !== undefined) return prompts[name];
  return '';
}
