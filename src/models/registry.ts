/**
 * Architecture name (config.json "architectures"[0]) → how to build it. An
 * architecture not listed here is an error naming it and the supported ones.
 * Each spec owns its whole story: reading a config (tensors, load), and for
 * the architectures Forja trains from scratch, writing one (configJson) and
 * initialising its weights (init).
 */
import type { Rng } from '../core/rng.js';
import { Gpt2, GPT2_ARCHITECTURE, gpt2ConfigJson, gpt2Tensors, parseGpt2Config } from './gpt2/model.js';
import { LLAMA_ARCHITECTURES, Llama, llamaConfigJson, llamaTensors, parseLlamaConfig, type LlamaArchitecture } from './llama/model.js';
import { architectureOf, ConfigError, type ConfigJson } from './transformer/config.js';
import type { CausalLmModel } from './transformer/types.js';
import type { CheckpointWeights, ExpectedTensor } from './transformer/weights.js';

/** The size of a model to train from scratch; each architecture fills in the rest. */
export interface ModelShape {
  layers: number;
  heads: number;
  embd: number;
  /** Context length: the model's maximum positions. */
  blockSize: number;
  dropout: number;
}

export interface SpecialTokens {
  bos?: number | undefined;
  eos?: number | undefined;
}

/** How to start an architecture from nothing. */
export interface ScratchSpec {
  /** Hugging Face config.json for `shape` over a vocabulary of `vocabSize`. */
  configJson(shape: ModelShape, vocabSize: number, special?: SpecialTokens): ConfigJson;
  /** Random weights for `config`, drawn from `rng` (the same seed gives the same model). */
  init(config: ConfigJson, rng: Rng): CausalLmModel;
}

export interface ArchitectureSpec {
  /** HF model_type written to config.json, e.g. "gpt2". */
  modelType: string;
  /** The tensors a checkpoint of this config holds, in checkpoint layout and naming. */
  tensors(config: ConfigJson): ExpectedTensor[];
  /** Check names and shapes and build the model over the checkpoint's weights. */
  load(config: ConfigJson, weights: CheckpointWeights): CausalLmModel;
  /** Present for architectures Forja can train from scratch. */
  scratch?: ScratchSpec;
}

const llamaSpec = (architecture: LlamaArchitecture, modelType: string, scratch?: ScratchSpec): ArchitectureSpec => ({
  modelType,
  tensors: (config) => llamaTensors(parseLlamaConfig(config, architecture)),
  load: (config, weights) => Llama.fromCheckpoint(config, weights, architecture),
  ...(scratch && { scratch }),
});

export const ARCHITECTURES: Readonly<Record<string, ArchitectureSpec>> = {
  [GPT2_ARCHITECTURE]: {
    modelType: 'gpt2',
    tensors: (config) => gpt2Tensors(parseGpt2Config(config)),
    load: (config, weights) => Gpt2.fromCheckpoint(config, weights),
    scratch: {
      configJson: gpt2ConfigJson,
      init: (config, rng) => Gpt2.init(parseGpt2Config(config), rng),
    },
  },
  [LLAMA_ARCHITECTURES[0]]: llamaSpec('LlamaForCausalLM', 'llama', {
    configJson: llamaConfigJson,
    init: (config, rng) => Llama.init(parseLlamaConfig(config, 'LlamaForCausalLM'), rng),
  }),
  [LLAMA_ARCHITECTURES[1]]: llamaSpec('Qwen2ForCausalLM', 'qwen2'),
  [LLAMA_ARCHITECTURES[2]]: llamaSpec('MistralForCausalLM', 'mistral'),
};

/** Short names of the architectures that can be trained from scratch → their HF architecture. */
export const SCRATCH_ARCHITECTURES = { gpt2: GPT2_ARCHITECTURE, llama: 'LlamaForCausalLM' } as const;
export type ScratchArchitecture = keyof typeof SCRATCH_ARCHITECTURES;

export const supportedArchitectures = (): string[] => Object.keys(ARCHITECTURES);

/** The spec for a config's architecture. `where` names the config (e.g. its path) in errors. */
export function architectureSpec(config: ConfigJson, where = 'config.json'): { name: string; spec: ArchitectureSpec } {
  const name = architectureOf(config, where);
  const spec = ARCHITECTURES[name];
  if (!spec) throw new ConfigError(`${where}: architecture "${name}" is not supported (supported: ${supportedArchitectures().join(', ')})`);
  return { name, spec };
}

/** The spec and scratch story of an architecture trained from scratch. */
export function scratchSpec(arch: ScratchArchitecture): ArchitectureSpec & { scratch: ScratchSpec } {
  const spec = ARCHITECTURES[SCRATCH_ARCHITECTURES[arch]];
  if (!spec?.scratch) throw new ConfigError(`"${arch}" cannot be trained from scratch (choose one of ${Object.keys(SCRATCH_ARCHITECTURES).join(', ')})`);
  return spec as ArchitectureSpec & { scratch: ScratchSpec };
}

/** Build the model a checkpoint's config names. */
export function loadCausalLmModel(config: ConfigJson, weights: CheckpointWeights, where?: string): CausalLmModel {
  return architectureSpec(config, where).spec.load(config, weights);
}
