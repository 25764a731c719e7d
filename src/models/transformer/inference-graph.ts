/**
 * The inference graph of a causal LM, with the input/output names of the
 * transformers.js (Optimum) layout: prefill and single-token decode are the
 * same graph, with symbolic batch, sequence and past lengths.
 */
import { trace } from '../../core/graph.js';
import type { EmitOptions } from '../../onnx/emit.js';
import type { CausalLmModel, KvPair } from './types.js';

export const pastName = (layer: number, kind: 'key' | 'value'): string => `past_key_values.${layer}.${kind}`;
export const presentName = (layer: number, kind: 'key' | 'value'): string => `present.${layer}.${kind}`;
/** Runtime-only input: which positions get logits (transformers.js exports omit it). */
export const LOGITS_INDEX = 'logits_index';

const BATCH = 'batch_size';
const SEQUENCE = 'sequence_length';
const PAST = 'past_sequence_length';
const TOTAL = 'total_sequence_length';

export interface InferenceGraphOptions {
  /** 'all': logits [B, T, V] (the export); 'selected': logits for the positions in `logits_index` [B, K, V]. */
  logits: 'all' | 'selected';
  name?: string;
}

/** Emit options for the model's inference graph, weights as initializers. */
export function inferenceGraph(model: CausalLmModel, opts: InferenceGraphOptions): EmitOptions {
  const { layers, kvHeads, headDim } = model.dims;
  return trace((g) => {
    const inputIds = g.input('input_ids', [BATCH, SEQUENCE], 'int64');
    const attentionMask = g.input('attention_mask', [BATCH, TOTAL], 'int64');
    const positionIds = g.input('position_ids', [BATCH, SEQUENCE], 'int64');
    const past: KvPair[] = Array.from({ length: layers }, (_, i) => ({
      key: g.input(pastName(i, 'key'), [BATCH, kvHeads, PAST, headDim]),
      value: g.input(pastName(i, 'value'), [BATCH, kvHeads, PAST, headDim]),
    }));
    const logitsIndex = opts.logits === 'selected' ? g.input(LOGITS_INDEX, ['num_logits'], 'int64') : undefined;
    const { logits, present } = model.forward({ inputIds, attentionMask, positionIds, past, ...(logitsIndex ? { logitsIndex } : {}) });
    const outputs: EmitOptions['outputs'] = { logits };
    present.forEach((kv, i) => {
      outputs[presentName(i, 'key')] = kv.key;
      outputs[presentName(i, 'value')] = kv.value;
    });
    const inputs = [inputIds, attentionMask, positionIds, ...past.flatMap((kv) => [kv.key, kv.value]), ...(logitsIndex ? [logitsIndex] : [])];
    return { graph: g, inputs, outputs, variables: 'initializers', name: opts.name ?? model.architecture };
  });
}
