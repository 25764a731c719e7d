/**
 * The inference graph of a causal LM, with the input/output names of the
 * transformers.js (Optimum) layout: prefill and single-token decode are the
 * same graph, with symbolic batch, sequence and past lengths.
 */
import { trace, type Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import type { EmitOptions } from '../../onnx/emit.js';
import { tokenHead } from './token-head.js';
import type { CausalLmModel, KvPair } from './types.js';

export const pastName = (layer: number, kind: 'key' | 'value'): string => `past_key_values.${layer}.${kind}`;
export const presentName = (layer: number, kind: 'key' | 'value'): string => `present.${layer}.${kind}`;
/** The new positions' keys and values, the outputs of an 'append' graph. */
export const appendedName = (layer: number, kind: 'key' | 'value'): string => `appended.${layer}.${kind}`;
/** Runtime-only input: which positions get logits (transformers.js exports omit it). */
export const LOGITS_INDEX = 'logits_index';
/** Runtime-only input of an 'append' graph: the new tokens' positions in the cache, past … past + steps − 1. */
export const CACHE_POSITIONS = 'cache_positions';

/** An 'append' graph's past input, (P, B, n_kv, hs), in the models' (B, n_kv, P, hs) layout. */
export const fromAppendLayout = (past: Tensor): Tensor => F.transpose(past, [1, 2, 0, 3]);
/** The new positions of a (B, n_kv, S, hs) present, positions first: what an 'append' graph returns. */
export const appendedPositions = (present: Tensor, cachePositions: Tensor): Tensor => F.transpose(F.gather(present, cachePositions, 2), [2, 0, 1, 3]);

const BATCH = 'batch_size';
const SEQUENCE = 'sequence_length';
const PAST = 'past_sequence_length';
const TOTAL = 'total_sequence_length';

export interface InferenceGraphOptions {
  /**
   * 'all': logits [B, T, V] (the export); 'selected': logits for the positions in `logits_index`
   * [B, K, V], and the token head's choice (token-head.ts).
   */
  logits: 'all' | 'selected';
  /**
   * 'optimum' (default): past [B, n_kv, P, hs] in, the whole present [B, n_kv, P + T, hs] out.
   * 'append': past [P, B, n_kv, hs] in, only the new positions [T, B, n_kv, hs] out. Positions first
   * lets a cache with spare capacity be fed as a prefix view, and onnxruntime-node copies every output
   * into a fresh ArrayBuffer, so returning only the new positions keeps a step's copy O(1) in the length.
   */
  cache?: 'optimum' | 'append';
  name?: string;
}

/** Emit options for the model's inference graph, weights as initializers. */
export function inferenceGraph(model: CausalLmModel, opts: InferenceGraphOptions): EmitOptions {
  const { layers, kvHeads, headDim } = model.dims;
  const append = opts.cache === 'append';
  return trace((g) => {
    const inputIds = g.input('input_ids', [BATCH, SEQUENCE], 'int64');
    const attentionMask = g.input('attention_mask', [BATCH, TOTAL], 'int64');
    const positionIds = g.input('position_ids', [BATCH, SEQUENCE], 'int64');
    const pastInputs: KvPair[] = Array.from({ length: layers }, (_, i) => {
      const dims = append ? [PAST, BATCH, kvHeads, headDim] : [BATCH, kvHeads, PAST, headDim];
      return { key: g.input(pastName(i, 'key'), dims), value: g.input(pastName(i, 'value'), dims) };
    });
    const logitsIndex = opts.logits === 'selected' ? g.input(LOGITS_INDEX, ['num_logits'], 'int64') : undefined;
    const cachePositions = append ? g.input(CACHE_POSITIONS, [SEQUENCE], 'int64') : undefined;
    const toModel = (t: Tensor) => (append ? fromAppendLayout(t) : t);
    const past = pastInputs.map(({ key, value }) => ({ key: toModel(key), value: toModel(value) }));
    const { logits, present } = model.forward({ inputIds, attentionMask, positionIds, past, ...(logitsIndex ? { logitsIndex } : {}) });
    const outputs: EmitOptions['outputs'] = { logits };
    const head = logitsIndex ? tokenHead(g, logits, model.dims.vocabSize) : undefined;
    if (head) Object.assign(outputs, head.outputs);
    const appended = (t: Tensor) => appendedPositions(t, cachePositions!);
    present.forEach((kv, i) => {
      if (append) {
        outputs[appendedName(i, 'key')] = appended(kv.key);
        outputs[appendedName(i, 'value')] = appended(kv.value);
      } else {
        outputs[presentName(i, 'key')] = kv.key;
        outputs[presentName(i, 'value')] = kv.value;
      }
    });
    const runtimeInputs = [...(logitsIndex ? [logitsIndex] : []), ...(cachePositions ? [cachePositions] : []), ...(head?.inputs ?? [])];
    const inputs = [inputIds, attentionMask, positionIds, ...pastInputs.flatMap((kv) => [kv.key, kv.value]), ...runtimeInputs];
    return { graph: g, inputs, outputs, variables: 'initializers', name: opts.name ?? model.architecture };
  });
}
