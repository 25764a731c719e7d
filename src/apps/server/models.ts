/**
 * The text models a server serves, by the name requests give in `model`. A base is named after its hub id,
 * or its directory's last part; each LoRA adapter over it is `base:adapter` (the adapter directory's last
 * part). A base with adapters is compiled once, as one AdapterSwitch: every adapter and the bare base run on
 * that one session, so serving another adapter never reloads the base.
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadHfCheckpoint } from '../../io/hf-checkpoint.js';
import { CausalLM } from '../../models/causal-lm.js';
import { loadLoraAdapter } from '../../models/lora/peft-io.js';
import { AdapterSwitch } from '../../models/lora/switch.js';
import type { LoraModel } from '../../models/lora/adapter.js';
import type { CausalLmLoadOptions } from '../../models/quantize/load.js';
import { loadCausalLmModel } from '../../models/registry.js';
import { generationConfigFromJson, type GenerationConfig } from '../../text/generation-config.js';
import type { LanguageModel } from '../../text/language-model.js';
import { Tokenizer } from '../../text/tokenizer.js';
import type { DownloadProgress } from '../../io/hub.js';
import type { EngineModel } from '../../text/batching/types.js';
import { withLoadProgress } from '../load-progress.js';

/** A loaded model the server can generate with. */
export interface ServedTextModel {
  /** The name in requests and in GET /v1/models. */
  id: string;
  lm: LanguageModel;
  tokenizer: Tokenizer;
  generationConfig: GenerationConfig;
  /** Unix seconds, for /v1/models' `created`. */
  created: number;
  /** The base's name when this is `base:adapter`. */
  parent?: string;
}

/** One entry of GET /v1/models; route modules add theirs (embedding, image, audio, RAG models). */
export interface ModelCard {
  id: string;
  created: number;
  owned_by: string;
  /** What the model answers (not an OpenAI field; OpenAI clients ignore it). */
  kind?: 'text' | 'embedding' | 'image' | 'audio' | 'rag';
}

/** `--model DIR|ID[:ADAPTER_DIR]` split at its first colon. */
export interface TextModelSpec {
  model: string;
  adapter?: string;
}

export function parseModelSpec(spec: string): TextModelSpec {
  const at = spec.indexOf(':');
  if (at < 0) return { model: spec };
  const model = spec.slice(0, at);
  const adapter = spec.slice(at + 1);
  if (model.length === 0 || adapter.length === 0) throw new Error(`"${spec}" is not DIR|ID or DIR|ID:ADAPTER_DIR`);
  return { model, adapter };
}

/** The served name of a hub id or directory. */
export function modelName(model: string): string {
  return existsSync(model) ? basename(resolve(model)) : model;
}

export interface LoadTextModelsOptions extends Pick<CausalLmLoadOptions, 'loadIn'> {
  /** Download progress; without it, bars are drawn on stderr when it is a TTY (load-progress.ts). */
  onProgress?: (model: string, p: DownloadProgress) => void;
}

/** What the batching engine needs of each served model, by name. */
export function engineModels(models: readonly ServedTextModel[]): Record<string, EngineModel> {
  return Object.fromEntries(models.map((m) => [m.id, { lm: m.lm, decode: (ids: readonly number[]) => m.tokenizer.decode(ids, { skipSpecialTokens: true }) }]));
}

/** End-of-sequence ids for a model: generation_config's eos_token_id, else the tokenizer's. */
export function stopTokenIds(m: ServedTextModel): number[] {
  const eos = m.generationConfig.eos_token_id;
  const ids = eos === undefined ? [] : Array.isArray(eos) ? eos : [eos];
  if (ids.length === 0 && m.tokenizer.eosTokenId !== undefined) ids.push(m.tokenizer.eosTokenId);
  return ids;
}

async function tokenizerFor(dir: string, adapter?: string): Promise<Tokenizer> {
  // An adapter that added tokens carries the tokenizer that knows them.
  return Tokenizer.fromDir(adapter !== undefined && existsSync(join(adapter, 'tokenizer.json')) ? adapter : dir);
}

const now = (): number => Math.floor(Date.now() / 1000);

/** Load each base once, with all of its adapters on one AdapterSwitch. Names must be unique. */
export async function loadTextModels(specs: readonly TextModelSpec[], options: LoadTextModelsOptions = {}): Promise<ServedTextModel[]> {
  const byBase = new Map<string, Set<string>>();
  for (const s of specs) {
    const adapters = byBase.get(s.model) ?? new Set<string>();
    if (s.adapter !== undefined) adapters.add(s.adapter);
    byBase.set(s.model, adapters);
  }
  const served: ServedTextModel[] = [];
  const names = new Set<string>();
  const claim = (name: string, from: string): string => {
    if (names.has(name)) throw new Error(`two models would both be served as "${name}" (${from}); rename a directory`);
    names.add(name);
    return name;
  };
  try {
    for (const [model, adapterDirs] of byBase) {
      const base = claim(modelName(model), model);
      const progress = options.onProgress ? { onProgress: (p: DownloadProgress) => options.onProgress!(model, p) } : {};
      if (adapterDirs.size === 0) {
        const lm = await withLoadProgress(model, progress, (onProgress) => CausalLM.load(model, { ...(options.loadIn && { loadIn: options.loadIn }), onProgress }));
        if (lm.dir === undefined) throw new Error(`"${model}" was loaded without a directory to read its tokenizer from`);
        served.push({ id: base, lm, tokenizer: await tokenizerFor(lm.dir), generationConfig: genConfig(lm), created: now() });
        continue;
      }
      if (options.loadIn !== undefined) throw new Error(`${model}: adapters apply to float weights, so they cannot be combined with loading in ${options.loadIn}; merge the adapter first, then quantize`);
      const ckpt = await withLoadProgress(model, progress, (onProgress) => loadHfCheckpoint(model, { onProgress }));
      const baseModel = loadCausalLmModel(ckpt.config, ckpt.weights, `${ckpt.dir}/config.json`);
      const adapters: Record<string, LoraModel> = {};
      const adapterNames = new Map<string, string>();
      for (const dir of adapterDirs) {
        const name = claim(`${base}:${basename(resolve(dir))}`, dir);
        adapters[name] = await loadLoraAdapter(dir, baseModel);
        adapterNames.set(name, dir);
      }
      const sw = await AdapterSwitch.create(baseModel, adapters, { dir: ckpt.dir, ...(ckpt.generationConfig && { generationConfig: ckpt.generationConfig }) });
      const generationConfig = genConfig(sw.session);
      served.push({ id: base, lm: withRelease(sw.model(null), () => sw.release()), tokenizer: await tokenizerFor(ckpt.dir), generationConfig, created: now() });
      for (const [name, dir] of adapterNames) {
        served.push({ id: name, lm: sw.model(name), tokenizer: await tokenizerFor(ckpt.dir, dir), generationConfig, created: now(), parent: base });
      }
    }
  } catch (err) {
    await releaseTextModels(served);
    throw err;
  }
  return served;
}

function genConfig(lm: CausalLM): GenerationConfig {
  return lm.generationConfig ? generationConfigFromJson(lm.generationConfig, `${lm.dir}/generation_config.json`) : {};
}

// The switch's base view releases the one session; its adapter views have nothing of their own.
function withRelease(lm: LanguageModel, release: () => Promise<void>): LanguageModel {
  return { ...lm, release } as LanguageModel;
}

export async function releaseTextModels(models: readonly ServedTextModel[]): Promise<void> {
  for (const m of models) await m.lm.release?.();
}
