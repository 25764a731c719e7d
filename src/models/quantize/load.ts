/**
 * Loading a causal LM from a directory or hub id, quantized or not: a
 * checkpoint with Forja's `quantization_config` loads as stored; a float one
 * loads as it is, or is quantized on the way in (`loadIn`, as transformers'
 * load_in_8bit / load_in_4bit). CausalLM.load, the pipeline and the CLI all
 * come through here.
 */
import { join } from 'node:path';
import { loadHfCheckpoint, readJsonObject, type JsonObject, type LoadCheckpointOptions } from '../../io/hf-checkpoint.js';
import { resolveModelDir } from '../../io/hub.js';
import { isGgufPath, loadGgufModel } from '../gguf/load.js';
import { loadCausalLmModel } from '../registry.js';
import type { CausalLmModel } from '../transformer/types.js';
import { QuantizeSettingError, readQuantizationConfig, type QuantizationOptions } from './config.js';
import { loadQuantizedModel } from './io.js';
import { quantizeModel, type QuantizedModelOptions } from './model.js';

/** transformers' names for quantizing at load time, or the full options. */
export type LoadIn = '8bit' | '4bit' | QuantizationOptions;

export const LOAD_IN = ['8bit', '4bit'] as const;

export interface CausalLmLoadOptions extends LoadCheckpointOptions, QuantizedModelOptions {
  /** Quantize a float checkpoint while loading it (a quantized checkpoint loads as stored). */
  loadIn?: LoadIn;
}

export interface LoadedCausalLm {
  model: CausalLmModel;
  /** The directory read (a hub cache snapshot for ids). */
  dir: string;
  config: JsonObject;
  generationConfig?: JsonObject;
}

/** `loadIn` as quantization options. */
export function loadInOptions(loadIn: LoadIn): QuantizationOptions {
  if (typeof loadIn !== 'string') return loadIn;
  if (loadIn === '8bit') return { bits: 8 };
  if (loadIn === '4bit') return { bits: 4 };
  throw new QuantizeSettingError('bits', `loadIn must be '8bit', '4bit' or quantization options, got ${JSON.stringify(loadIn)}`);
}

export async function loadCausalLm(dirOrId: string, opts: CausalLmLoadOptions = {}): Promise<LoadedCausalLm> {
  const { loadIn, accuracyLevel, ...checkpointOptions } = opts;
  const modelOptions = accuracyLevel === undefined ? {} : { accuracyLevel };
  // A llama.cpp .gguf file carries its own config, tokenizer and quantization (models/gguf).
  if (isGgufPath(dirOrId)) {
    if (loadIn !== undefined) throw new QuantizeSettingError('bits', `${dirOrId} is a GGUF file, quantized as stored; load it as it is`);
    return loadGgufModel(dirOrId, modelOptions);
  }
  const dir = await resolveModelDir(dirOrId, checkpointOptions);
  const configPath = join(dir, 'config.json');
  const config = await readJsonObject(configPath, false);
  const quantized = config && readQuantizationConfig(config, configPath);
  if (config && quantized) {
    if (loadIn !== undefined && loadInOptions(loadIn).bits !== quantized.bits) {
      throw new QuantizeSettingError('bits', `${dir} is already quantized to ${quantized.bits} bits; load it as it is, or quantize its float checkpoint`);
    }
    const generationConfig = await readJsonObject(join(dir, 'generation_config.json'));
    const model = await loadQuantizedModel(dir, config, quantized, modelOptions);
    return { model, dir, config, ...(generationConfig ? { generationConfig } : {}) };
  }
  const ckpt = await loadHfCheckpoint(dir, checkpointOptions);
  const float = loadCausalLmModel(ckpt.config, ckpt.weights, configPath);
  const model = loadIn === undefined ? float : quantizeModel(float, loadInOptions(loadIn), modelOptions);
  return { model, dir: ckpt.dir, config: ckpt.config, ...(ckpt.generationConfig ? { generationConfig: ckpt.generationConfig } : {}) };
}
