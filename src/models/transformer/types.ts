/** What every causal-LM architecture builds, and what its graphs take and give. */
import type { Tensor } from '../../core/graph.js';
import type { Variable } from '../../core/variable.js';
import type { LinearAdapters, ModuleOverrides } from './layers.js';

/** One layer's attention cache, [B, n_kv_heads, positions, head_dim]. */
export interface KvPair {
  key: Tensor;
  value: Tensor;
}

/** Where HF applies dropout; a training loop decides what happens there. */
export type DropoutSite = 'embedding' | 'attention' | 'residual';

export interface CausalLmInputs {
  /** [B, T] int64. */
  inputIds: Tensor;
  /** [B, T] int64; default 0..T-1 after the cached positions. */
  positionIds?: Tensor;
  /** [B, past + T] int64, 1 for real tokens, or [B, T, past + T], 1 where query t may see key s (packed sequences); default: every position is real. */
  attentionMask?: Tensor;
  /** One pair per layer; default: no cache. */
  past?: readonly KvPair[];
  /**
   * 'present' (default): each layer's `present` is past and new positions together (the export's
   * layout). 'new': only the new positions, and attention reads past and new apart, so the step never
   * copies the cache (the runtime graphs, whose past may hold masked spare positions).
   */
  cacheOutput?: 'present' | 'new';
  /** [K] int64 positions (negative counts from the end) whose logits to compute; default all T. */
  logitsIndex?: Tensor;
  /** Training only: applied at each HF dropout site. */
  dropout?: (x: Tensor, site: DropoutSite) => Tensor;
  /** Adapters (LoRA) of the linear maps, by HF module name; default none. */
  adapters?: LinearAdapters;
  /** Linear maps and embeddings computed from other weights (quantized ones), by HF module name; default the model's own. */
  overrides?: ModuleOverrides;
  /** Encoder-decoder models: each layer's cross-attention keys and values over the encoder output, (B, heads, S, hs); default none. */
  cross?: readonly KvPair[];
}

export interface CausalLmOutputs {
  /** [B, K or T, vocab]. */
  logits: Tensor;
  /** One pair per layer, [B, n_kv_heads, past + T, head_dim]. */
  present: KvPair[];
}

/** The sizes a runtime needs to feed a model's cache. */
export interface CausalLmDims {
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
  vocabSize: number;
  maxPositions: number;
}

/** A loaded model: its weights as Variables and a graph builder over them. */
export interface CausalLmModel {
  /** HF architecture name, e.g. "GPT2LMHeadModel". */
  readonly architecture: string;
  readonly dims: CausalLmDims;
  /** Every weight, by checkpoint name. */
  readonly weights: ReadonlyMap<string, Variable>;
  /** Trace the forward pass into the current graph. */
  forward(inputs: CausalLmInputs): CausalLmOutputs;
}
