/**
 * The inference graph of a causal LM, with the input/output names of the
 * transformers.js (Optimum) layout: prefill and single-token decode are the
 * same graph, with symbolic batch, sequence and past lengths.
 */
import { trace } from '../../core/graph.js';
import type { EmitOptions } from '../../onnx/emit.js';
import { tokenHead } from './token-head.js';
import type { CausalLmModel, KvPair } from './types.js';

export const pastName = (layer: number, kind: 'key' | 'value'): string => `past_key_values.${layer}.${kind}`;
export const presentName = (layer: number, kind: 'key' | 'value'): string => `present.${layer}.${kind}`;
/** The new positions' keys and values, the outputs of an 'append' graph. */
export const appendedName = (layer: number, kind: 'key' | 'value'): string => `appended.${layer}.${kind}`;
/** An 'append' step's new positions from its outputs, per layer key then value (AppendKvCache.write's order). */
export const appendedOutputs = (out: Readonly<Record<string, { data: unknown }>>, layers: number): Float32Array[] =>
  Array.from({ length: 2 * layers }, (_, j) => out[appendedName(j >> 1, j & 1 ? 'value' : 'key')]!.data as Float32Array);
/** Runtime-only input: which positions get logits (transformers.js exports omit it). */
export const LOGITS_INDEX = 'logits_index';

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
   * 'append': past [B, n_kv, P, hs] in, where P is the cache's capacity and the attention mask hides
   * the spare positions, and only the new positions [B, n_kv, T, hs] out. A cache with spare capacity
   * is fed whole, as it lies in memory; onnxruntime-node copies every output into a fresh ArrayBuffer,
   * so returning only the new positions keeps a step's copy O(1) in the length; and attention reads
   * the past where it is (cachedAttention's newPositionsOnly), so the step does not copy it either.
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
    const past: KvPair[] = Array.from({ length: layers }, (_, i) => {
      const dims = [BATCH, kvHeads, PAST, headDim];
      return { key: g.input(pastName(i, 'key'), dims), value: g.input(pastName(i, 'value'), dims) };
    });
    const logitsIndex = opts.logits === 'selected' ? g.input(LOGITS_INDEX, ['num_logits'], 'int64') : undefined;
    const { logits, present } = model.forward({ inputIds, attentionMask, positionIds, past, ...(logitsIndex ? { logitsIndex } : {}), ...(append ? { cacheOutput: 'new' as const } : {}) });
    const outputs: EmitOptions['outputs'] = { logits };
    const head = logitsIndex ? tokenHead(g, logits, model.dims.vocabSize) : undefined;
    if (head) Object.assign(outputs, head.outputs);
    const outputName = append ? appendedName : presentName;
    present.forEach((kv, i) => {
      outputs[outputName(i, 'key')] = kv.key;
      outputs[outputName(i, 'value')] = kv.value;
    });
    const runtimeInputs = [...(logitsIndex ? [logitsIndex] : []), ...(head?.inputs ?? [])];
    const inputs = [inputIds, attentionMask, positionIds, ...past.flatMap((kv) => [kv.key, kv.value]), ...runtimeInputs];
    return { graph: g, inputs, outputs, variables: 'initializers', name: opts.name ?? model.architecture };
  });
}
