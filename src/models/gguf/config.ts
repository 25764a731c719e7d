/**
 * A GGUF file's metadata as the Hugging Face config.json of the same model,
 * for the Llama family: llama.cpp's "llama" (Llama, Mistral and their
 * fine-tunes) and "qwen2". Keys are llama.cpp's (`<arch>.block_count`, ...);
 * a missing one is a GgufMetadataError naming it.
 */
import { GgufMetadataError } from '../../io/gguf/errors.js';
import type { GgufMetadata } from '../../io/gguf/metadata.js';
import type { GgufTensorInfo } from '../../io/gguf/reader.js';
import type { JsonObject } from '../../io/hf-checkpoint.js';
import type { LlamaArchitecture } from '../llama/model.js';

/** llama.cpp architecture → the transformers class and model_type it converts from. */
export const GGUF_ARCHITECTURES: Readonly<Record<string, { architecture: LlamaArchitecture; modelType: string }>> = {
  llama: { architecture: 'LlamaForCausalLM', modelType: 'llama' },
  qwen2: { architecture: 'Qwen2ForCausalLM', modelType: 'qwen2' },
};

export interface GgufModelConfig {
  /** llama.cpp's name, e.g. "llama". */
  ggufArchitecture: string;
  architecture: LlamaArchitecture;
  /** config.json as transformers would hold it. */
  json: JsonObject;
  /** Whether llama.cpp's converter permuted Q/K rows (its "llama" rotary layout; Qwen2 uses NeoX's and was not permuted). */
  permutedQk: boolean;
  heads: number;
  kvHeads: number;
}

/** The config of the model in a GGUF file (tensors: its tensor infos, for the vocabulary size and tying). */
export function ggufConfig(meta: GgufMetadata, tensors: ReadonlyMap<string, GgufTensorInfo>): GgufModelConfig {
  const path = meta.file.path;
  const arch = meta.string('general.architecture', 'the model architecture');
  const known = GGUF_ARCHITECTURES[arch];
  if (!known) {
    throw new GgufMetadataError(path, 'general.architecture', `general.architecture "${arch}" is not supported (supported: ${Object.keys(GGUF_ARCHITECTURES).join(', ')}: the Llama, Mistral and Qwen2 family)`);
  }
  const k = (key: string) => `${arch}.${key}`;
  const hidden = meta.int(k('embedding_length'), 'the hidden size');
  const heads = meta.int(k('attention.head_count'), 'the number of attention heads');
  const kvHeads = meta.int(k('attention.head_count_kv'), 'the number of key/value heads', false) ?? heads;
  const headDim = meta.int(k('attention.key_length'), 'the head size', false) ?? hidden / heads;
  const valueDim = meta.int(k('attention.value_length'), 'the value head size', false) ?? headDim;
  if (valueDim !== headDim) throw new GgufMetadataError(path, k('attention.value_length'), `${k('attention.value_length')} ${valueDim} differs from the key length ${headDim}, which the Llama family does not do`);
  const rotary = meta.int(k('rope.dimension_count'), 'the rotary dimensions', false) ?? headDim;
  if (rotary !== headDim) throw new GgufMetadataError(path, k('rope.dimension_count'), `${k('rope.dimension_count')} ${rotary} rotates part of each head (size ${headDim}); only full rotary embeddings are supported`);

  const embedding = tensors.get('token_embd.weight');
  if (!embedding || embedding.dims.length !== 2) throw new GgufMetadataError(path, 'token_embd.weight', `no 2-D tensor 'token_embd.weight' (the token embedding)`);
  const vocab = embedding.dims[1]!;
  const declared = meta.int(k('vocab_size'), 'the vocabulary size', false);
  if (declared !== undefined && declared !== vocab) throw new GgufMetadataError(path, k('vocab_size'), `${k('vocab_size')} is ${declared} but token_embd.weight has ${vocab} rows`);

  const json: JsonObject = {
    architectures: [known.architecture],
    model_type: known.modelType,
    vocab_size: vocab,
    hidden_size: hidden,
    intermediate_size: meta.int(k('feed_forward_length'), 'the MLP width'),
    num_hidden_layers: meta.int(k('block_count'), 'the number of layers'),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    hidden_act: 'silu',
    max_position_embeddings: meta.int(k('context_length'), 'the context length'),
    rms_norm_eps: meta.number(k('attention.layer_norm_rms_epsilon'), 'the RMSNorm epsilon'),
    rope_theta: meta.number(k('rope.freq_base'), 'the RoPE base', false) ?? 10000,
    tie_word_embeddings: !tensors.has('output.weight'),
    attention_bias: known.architecture === 'LlamaForCausalLM' && tensors.has('blk.0.attn_q.bias'),
  };
  const scaling = meta.string(k('rope.scaling.type'), 'the RoPE scaling', false) ?? 'none';
  if (scaling === 'linear') json.rope_scaling = { rope_type: 'linear', factor: meta.number(k('rope.scaling.factor'), 'the linear RoPE scaling factor') };
  else if (scaling !== 'none') throw new GgufMetadataError(path, k('rope.scaling.type'), `${k('rope.scaling.type')} "${scaling}" is not supported (supported: none, linear)`);
  const special = (key: string) => meta.int(`tokenizer.ggml.${key}`, key, false);
  const bos = special('bos_token_id');
  const eos = special('eos_token_id');
  if (bos !== undefined) json.bos_token_id = bos;
  if (eos !== undefined) json.eos_token_id = eos;
  return { ggufArchitecture: arch, architecture: known.architecture, json, permutedQk: arch === 'llama', heads, kvHeads };
}
