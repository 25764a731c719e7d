/**
 * Architecture name (config.json "architectures"[0]) → how to build it. An
 * architecture not listed here is an error naming it and the supported ones.
 */
import { Gpt2, GPT2_ARCHITECTURE, gpt2Tensors, parseGpt2Config } from './gpt2/model.js';
import { LLAMA_ARCHITECTURES, Llama, llamaTensors, parseLlamaConfig, type LlamaArchitecture } from './llama/model.js';
import { architectureOf, ConfigError, type ConfigJson } from './transformer/config.js';
import type { CausalLmModel } from './transformer/types.js';
import type { CheckpointWeights, ExpectedTensor } from './transformer/weights.js';

export interface ArchitectureSpec {
  /** HF model_type written to config.json, e.g. "gpt2". */
  modelType: string;
  /** The tensors a checkpoint of this config holds, in checkpoint layout and naming. */
  tensors(config: ConfigJson): ExpectedTensor[];
  /** Check names and shapes and build the model over the checkpoint's weights. */
  load(config: ConfigJson, weights: CheckpointWeights): CausalLmModel;
}

const llamaSpec = (architecture: LlamaArchitecture, modelType: string): ArchitectureSpec => ({
  modelType,
  tensors: (config) => llamaTensors(parseLlamaConfig(config, architecture)),
  load: (config, weights) => Llama.fromCheckpoint(config, weights, architecture),
});

export const ARCHITECTURES: Readonly<Record<string, ArchitectureSpec>> = {
  [GPT2_ARCHITECTURE]: {
    modelType: 'gpt2',
    tensors: (config) => gpt2Tensors(parseGpt2Config(config)),
    load: (config, weights) => Gpt2.fromCheckpoint(config, weights),
  },
  [LLAMA_ARCHITECTURES[0]]: llamaSpec('LlamaForCausalLM', 'llama'),
  [LLAMA_ARCHITECTURES[1]]: llamaSpec('Qwen2ForCausalLM', 'qwen2'),
  [LLAMA_ARCHITECTURES[2]]: llamaSpec('MistralForCausalLM', 'mistral'),
};

export const supportedArchitectures = (): string[] => Object.keys(ARCHITECTURES);

/** The spec for a config's architecture. `where` names the config (e.g. its path) in errors. */
export function architectureSpec(config: ConfigJson, where = 'config.json'): { name: string; spec: ArchitectureSpec } {
  const name = architectureOf(config, where);
  const spec = ARCHITECTURES[name];
  if (!spec) throw new ConfigError(`${where}: architecture "${name}" is not supported (supported: ${supportedArchitectures().join(', ')})`);
  return { name, spec };
}

/** Build the model a checkpoint's config names. */
export function loadCausalLmModel(config: ConfigJson, weights: CheckpointWeights, where?: string): CausalLmModel {
  return architectureSpec(config, where).spec.load(config, weights);
}
