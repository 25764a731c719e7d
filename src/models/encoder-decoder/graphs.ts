/**
 * The two inference graphs of an encoder-decoder: "encode" (the encoder and
 * every layer's cross-attention K/V, run once per input batch) and "decode"
 * (one decoder pass over a growing self-attention cache and fixed cross K/V,
 * the same graph for the prompt and each new token).
 */
import { trace } from '../../core/graph.js';
import type { EmitOptions } from '../../onnx/emit.js';
import { appendedName, LOGITS_INDEX } from '../transformer/inference-graph.js';
import { tokenHead } from '../transformer/token-head.js';
import type { KvPair } from '../transformer/types.js';
import type { EncoderDecoderModel } from './types.js';

export const BATCH = 'batch_size';
export const ENCODER_SEQUENCE = 'encoder_sequence_length';
const SEQUENCE = 'sequence_length';
const PAST = 'past_sequence_length';
const TOTAL = 'total_sequence_length';

export const crossName = (layer: number, kind: 'key' | 'value'): string => `cross.${layer}.${kind}`;
export const selfPastName = (layer: number, kind: 'key' | 'value'): string => `past.${layer}.${kind}`;

/** Encoder input → `cross.{i}.key/value` (B, heads, S, headDim) per decoder layer. */
export function encodeGraph(model: EncoderDecoderModel): EmitOptions {
  return trace((g) => {
    const input = g.input(model.encoderInput.name, [BATCH, ...model.encoderInput.dims]);
    const cross = model.crossKeyValues(model.encode(input, { fused: true }));
    const outputs: EmitOptions['outputs'] = {};
    cross.forEach((kv, i) => {
      outputs[crossName(i, 'key')] = kv.key;
      outputs[crossName(i, 'value')] = kv.value;
    });
    return { graph: g, inputs: [input], outputs, variables: 'initializers', name: `${model.architecture}.encode` };
  });
}

/**
 * One decoder pass: logits for the positions in `logits_index` and the token head's choice, and the
 * new positions' self-attention K/V; the past comes in at its capacity, the spare positions masked
 * (inference-graph.ts's 'append' layout).
 */
export function decodeGraph(model: EncoderDecoderModel): EmitOptions {
  const { layers, kvHeads, headDim } = model.decoderDims;
  const { heads: crossHeads, headDim: crossHeadDim } = model.crossDims;
  return trace((g) => {
    const inputIds = g.input('input_ids', [BATCH, SEQUENCE], 'int64');
    const attentionMask = g.input('attention_mask', [BATCH, TOTAL], 'int64');
    const positionIds = g.input('position_ids', [BATCH, SEQUENCE], 'int64');
    const pair = (name: (i: number, kind: 'key' | 'value') => string, i: number, shape: (string | number)[]): KvPair => ({
      key: g.input(name(i, 'key'), shape),
      value: g.input(name(i, 'value'), shape),
    });
    const past = Array.from({ length: layers }, (_, i) => pair(selfPastName, i, [BATCH, kvHeads, PAST, headDim]));
    const cross = Array.from({ length: layers }, (_, i) => pair(crossName, i, [BATCH, crossHeads, ENCODER_SEQUENCE, crossHeadDim]));
    const logitsIndex = g.input(LOGITS_INDEX, ['num_logits'], 'int64');
    const { logits, present } = model.decode({ inputIds, attentionMask, positionIds, past, cross, logitsIndex, cacheOutput: 'new' });
    const head = tokenHead(g, logits, model.decoderDims.vocabSize);
    const outputs: EmitOptions['outputs'] = { logits, ...head.outputs };
    present.forEach((kv, i) => {
      outputs[appendedName(i, 'key')] = kv.key;
      outputs[appendedName(i, 'value')] = kv.value;
    });
    const kvInputs = (pairs: KvPair[]) => pairs.flatMap((kv) => [kv.key, kv.value]);
    const inputs = [inputIds, attentionMask, positionIds, ...kvInputs(past), ...kvInputs(cross), logitsIndex, ...head.inputs];
    return { graph: g, inputs, outputs, variables: 'initializers', name: `${model.architecture}.decode` };
  });
}
