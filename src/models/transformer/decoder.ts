/** What every decoder layer shares: positions, the attention bias, and cache checks. */
import type { Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { formatShape } from '../../core/shape.js';
import { attentionBias, dimOf } from './mask.js';
import type { CausalLmDims, CausalLmInputs, KvPair } from './types.js';

export interface DecoderContext {
  /** (B or 1, T) int64 */
  positionIds: Tensor;
  /** (B or 1, 1, T, S) additive attention mask */
  bias: Tensor;
  past: (KvPair | undefined)[];
  /** `present` holds only the new positions (CausalLmInputs.cacheOutput 'new'). */
  newPositionsOnly: boolean;
}

export function decoderContext(where: string, dims: CausalLmDims, inputs: CausalLmInputs, slidingWindow?: number): DecoderContext {
  const { inputIds, attentionMask, past } = inputs;
  if (inputIds.rank !== 2) throw new Error(`${where}: input_ids must be (batch, sequence), received shape ${formatShape(inputIds.shape)}`);
  if (past && past.length !== dims.layers) {
    throw new Error(`${where}: expected a cache for each of the ${dims.layers} layers, received ${past.length}`);
  }
  const queryLength = dimOf(inputIds, 1);
  const pastKey = past?.[0]?.key;
  let totalLength = queryLength;
  if (attentionMask) totalLength = dimOf(attentionMask, attentionMask.rank - 1);
  else if (pastKey) totalLength = F.add(dimOf(pastKey, 2), queryLength);
  const positionIds = inputs.positionIds ?? F.unsqueeze(F.range(F.sub(totalLength, queryLength), totalLength), [0]);
  const bias = attentionBias({ queryLength, totalLength, ...(attentionMask ? { attentionMask } : {}), ...(slidingWindow ? { slidingWindow } : {}) });
  return { positionIds, bias, past: Array.from({ length: dims.layers }, (_, i) => past?.[i]), newPositionsOnly: inputs.cacheOutput === 'new' };
}

/** Hidden states at `index` along the sequence axis (all of them without one). */
export function selectPositions(hidden: Tensor, index?: Tensor): Tensor {
  return index ? F.gather(hidden, index, 1) : hidden;
}
