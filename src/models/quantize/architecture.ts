/**
 * What quantization needs to know of an architecture: its linear maps (with
 * their input and output sizes, the head included), its input embedding,
 * whether the head is tied to it, and how to build the model over the float
 * weights that are left.
 */
import type { Variable } from '../../core/variable.js';
import { Gpt2, GPT2_ARCHITECTURE, gpt2Tensors, parseGpt2Config, type Gpt2Config } from '../gpt2/model.js';
import { LLAMA_ARCHITECTURES, Llama, llamaTensors, parseLlamaConfig, type LlamaArchitecture, type LlamaConfig } from '../llama/model.js';
import { architectureOf, type ConfigJson } from '../transformer/config.js';
import type { CausalLmModel } from '../transformer/types.js';
import type { ExpectedTensor } from '../transformer/weights.js';
import { QuantizeError } from './config.js';

/** The output head's module name in every HF causal LM. */
export const HEAD = 'lm_head';

/** A linear map y = x·W (+ b): K inputs, N outputs. */
export interface LinearMap {
  module: string;
  k: number;
  n: number;
  /** Its weight's checkpoint name; absent for a tied head (the embedding is its weight). */
  tensor?: string;
}

export interface QuantArchitecture {
  architecture: string;
  /** The input embedding's module, e.g. "transformer.wte", and its [vocab, hidden] tensor. */
  embedding: { module: string; tensor: string; vocab: number; hidden: number };
  tied: boolean;
  /** Every checkpoint tensor of the float model (names, stored shapes, whether Forja transposes them). */
  tensors: readonly ExpectedTensor[];
  /** Every linear map in checkpoint order, the head last. */
  linears: readonly LinearMap[];
  /** The model over `weights`, which may lack the weights that overrides replace. */
  build(weights: ReadonlyMap<string, Variable>): CausalLmModel;
}

const moduleOf = (tensor: string): string => tensor.slice(0, tensor.lastIndexOf('.'));

function linearMaps(tensors: readonly ExpectedTensor[], embeddings: readonly string[], tied: boolean, vocab: number, hidden: number): LinearMap[] {
  const out: LinearMap[] = [];
  for (const t of tensors) {
    const module = moduleOf(t.name);
    if (!t.name.endsWith('.weight') || t.shape.length !== 2 || embeddings.includes(module)) continue;
    // nn.Linear stores [out, in] (transposed on load), GPT-2's Conv1D [in, out].
    const [rows, cols] = t.shape as [number, number];
    out.push(t.transpose ? { module, k: cols, n: rows, tensor: t.name } : { module, k: rows, n: cols, tensor: t.name });
  }
  if (tied) out.push({ module: HEAD, k: hidden, n: vocab });
  return out;
}

function gpt2Architecture(c: Gpt2Config): QuantArchitecture {
  const tensors = gpt2Tensors(c);
  return {
    architecture: GPT2_ARCHITECTURE,
    embedding: { module: 'transformer.wte', tensor: 'transformer.wte.weight', vocab: c.vocabSize, hidden: c.nEmbd },
    tied: c.tieWordEmbeddings,
    tensors,
    linears: linearMaps(tensors, ['transformer.wte', 'transformer.wpe'], c.tieWordEmbeddings, c.vocabSize, c.nEmbd),
    build: (weights) => new Gpt2(c, weights),
  };
}

function llamaArchitecture(c: LlamaConfig): QuantArchitecture {
  const tensors = llamaTensors(c);
  return {
    architecture: c.architecture,
    embedding: { module: 'model.embed_tokens', tensor: 'model.embed_tokens.weight', vocab: c.vocabSize, hidden: c.hiddenSize },
    tied: c.tieWordEmbeddings,
    tensors,
    linears: linearMaps(tensors, ['model.embed_tokens'], c.tieWordEmbeddings, c.vocabSize, c.hiddenSize),
    build: (weights) => new Llama(c, weights),
  };
}

const unsupported = (name: string): QuantizeError =>
  new QuantizeError(`quantization supports ${GPT2_ARCHITECTURE} and the Llama family (${LLAMA_ARCHITECTURES.join(', ')}), not ${name}`);

/** The facts of a loaded model. */
export function modelArchitecture(model: CausalLmModel): QuantArchitecture {
  if (model instanceof Gpt2) return gpt2Architecture(model.config);
  if (model instanceof Llama) return llamaArchitecture(model.config);
  throw unsupported(model.architecture);
}

/** The facts of the model a config.json describes; `where` names it in errors. */
export function configArchitecture(json: ConfigJson, where: string): QuantArchitecture {
  const name = architectureOf(json, where);
  if (name === GPT2_ARCHITECTURE) return gpt2Architecture(parseGpt2Config(json));
  if ((LLAMA_ARCHITECTURES as readonly string[]).includes(name)) return llamaArchitecture(parseLlamaConfig(json, name as LlamaArchitecture));
  throw unsupported(name);
}
