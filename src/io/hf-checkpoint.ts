/**
 * Load a Hugging Face checkpoint (config.json + safetensors weights, single file or sharded) from a
 * local directory or a hub id (resolved and downloaded through hub.ts). Weights come back as
 * Float32Array whatever their stored dtype (F16/BF16 upcast); `dtypes` keeps what the file held.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { resolveModelDir, type HubOptions } from './hub.js';
import {
  SAFETENSORS_INDEX,
  readSafetensors,
  readSafetensorsIndex,
  readShardedSafetensors,
  shardFiles,
  toFloat32,
  type F32Tensor,
  type ReadOptions,
  type SafetensorsDtype,
  type SafetensorsTensor,
} from './safetensors.js';

export type JsonObject = Record<string, unknown>;

export interface HfCheckpoint {
  /** Absolute directory the files were read from (a cache snapshot for hub ids). */
  dir: string;
  /** Parsed config.json. */
  config: JsonObject;
  weights: Map<string, F32Tensor>;
  /** Stored dtype of each tensor (e.g. BF16 for llama-tiny), before upcasting. */
  dtypes: Map<string, SafetensorsDtype>;
  /** Weight files read, relative to `dir`. */
  weightFiles: string[];
  generationConfig?: JsonObject;
  tokenizerConfig?: JsonObject;
}

export interface LoadCheckpointOptions extends HubOptions, ReadOptions {}

/** Weights holding NaN or ±Inf (e.g. saved from a diverged run): they would only generate garbage. */
export class NonFiniteWeightsError extends Error {
  override name = 'NonFiniteWeightsError';
  constructor(
    readonly dir: string,
    /** The first affected tensor, its non-finite count and its size. */
    readonly tensor: string,
    readonly count: number,
    readonly size: number,
    /** How many tensors hold non-finite values in all. */
    readonly tensors: number,
  ) {
    const others = tensors > 1 ? ` (and ${tensors - 1} more tensor${tensors > 2 ? 's' : ''})` : '';
    super(`${dir}: tensor '${tensor}' holds ${count} non-finite value${count === 1 ? '' : 's'} (NaN or Inf) of ${size}${others}; the checkpoint is corrupt or was saved from a diverged run`);
  }
}

/** NaN and ±Inf entries; x - x is 0 exactly when x is finite. */
function countNonFinite(data: Float32Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x - x !== 0) n++;
  }
  return n;
}

/** Read a JSON object file; undefined if absent, a clear error if unreadable or not an object. */
export async function readJsonObject(path: string, required: true): Promise<JsonObject>;
export async function readJsonObject(path: string, required?: false): Promise<JsonObject | undefined>;
export async function readJsonObject(path: string, required = false): Promise<JsonObject | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined;
    throw new Error(`${path}: cannot read (${(err as Error).message})`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path}: expected a JSON object`);
  return value as JsonObject;
}

/** Load config, weights and (if present) generation/tokenizer configs of a checkpoint. */
export async function loadHfCheckpoint(dirOrId: string, opts: LoadCheckpointOptions = {}): Promise<HfCheckpoint> {
  const dir = await resolveModelDir(dirOrId, opts);
  const configPath = join(dir, 'config.json');
  if (!fs.existsSync(configPath)) {
    throw new Error(`${dir}: no config.json, so this is not a Hugging Face model directory (from "${dirOrId}")`);
  }
  const config = await readJsonObject(configPath, true);

  let raw: Map<string, SafetensorsTensor>;
  let weightFiles: string[];
  const readOpts: ReadOptions = opts.filter ? { filter: opts.filter } : {};
  // Single file wins over an index, as in transformers.
  if (fs.existsSync(join(dir, 'model.safetensors'))) {
    raw = await readSafetensors(join(dir, 'model.safetensors'), readOpts);
    weightFiles = ['model.safetensors'];
  } else if (fs.existsSync(join(dir, SAFETENSORS_INDEX))) {
    raw = await readShardedSafetensors(dir, readOpts);
    weightFiles = [SAFETENSORS_INDEX, ...shardFiles(await readSafetensorsIndex(join(dir, SAFETENSORS_INDEX)))];
  } else {
    const other = ['pytorch_model.bin', 'pytorch_model.bin.index.json', 'model.ckpt', 'tf_model.h5'].filter((f) => fs.existsSync(join(dir, f)));
    const hint = other.length ? ` (found ${other.join(', ')}; convert to safetensors first)` : '';
    throw new Error(`${dir}: no weights: neither model.safetensors nor ${SAFETENSORS_INDEX}${hint}`);
  }

  const weights = new Map<string, F32Tensor>();
  const dtypes = new Map<string, SafetensorsDtype>();
  let firstBad: { name: string; count: number; size: number } | undefined;
  let badTensors = 0;
  for (const [name, t] of raw) {
    const data = toFloat32(t);
    const count = countNonFinite(data);
    if (count > 0) {
      badTensors++;
      firstBad ??= { name, count, size: data.length };
    }
    weights.set(name, { shape: t.shape, data });
    dtypes.set(name, t.dtype);
  }
  if (firstBad) throw new NonFiniteWeightsError(dir, firstBad.name, firstBad.count, firstBad.size, badTensors);
  const result: HfCheckpoint = { dir, config, weights, dtypes, weightFiles };
  const generationConfig = await readJsonObject(join(dir, 'generation_config.json'));
  if (generationConfig) result.generationConfig = generationConfig;
  const tokenizerConfig = await readJsonObject(join(dir, 'tokenizer_config.json'));
  if (tokenizerConfig) result.tokenizerConfig = tokenizerConfig;
  return result;
}
