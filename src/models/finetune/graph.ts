/**
 * The graphs of a fine-tuning step and of an evaluation batch, for a causal
 * LM with attention_mask, position_ids and labels, as transformers computes
 * the loss: logits[:, :-1] scored against labels[:, 1:], -100 ignored, the
 * mean over supervised tokens. The graphs take the sum; the mean's divisor is
 * counted in JS over the whole step (all its micro-batches) and fed as
 * `loss_scale`, so an accumulated step is the mean over all its tokens.
 *
 * Packed rows hold several sequences: their segment ids make the attention
 * block-diagonal (a token sees the earlier tokens of its own sequence only),
 * and their position ids restart at 0 in each.
 */
import { trace, type Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import type { Variable } from '../../core/variable.js';
import { causalLmCrossentropy } from '../../losses/index.js';
import type { HostData } from '../../nn/index.js';
import { CompiledGraph } from '../../runtime/session.js';
import type { StepInputSpec } from '../../train/step-runner.js';
import type { CausalLmInputs, CausalLmModel } from '../transformer/types.js';
import type { FinetuneBatch } from './data.js';

/** What trains and how its forward is called. LoRA is one of these: the adapted model and its adapters. */
export interface TrainableModel {
  /** The model whose graph is traced (an adapted model for LoRA). */
  model: CausalLmModel;
  /** The Variables the optimizer updates (every weight for full fine-tuning; the adapters for LoRA). */
  trainable: readonly Variable[];
  /** Extra forward inputs of training graphs only (LoRA's dropout); called once per graph. */
  trainingInputs?: () => Partial<CausalLmInputs> & Record<string, unknown>;
}

/** One graph signature: the padded sequence length and whether rows are packed. */
export interface Signature {
  length: number;
  packed: boolean;
}

export const signatureKey = ({ length, packed }: Signature): string => `${length}${packed ? 'p' : ''}`;
export const signatureOf = (batch: FinetuneBatch): Signature => ({ length: batch.seqLength, packed: batch.packed });

/** The graph inputs of a [rows, length] batch; `scaled` adds the training step's loss_scale. */
export function batchInputs(rows: number, { length, packed }: Signature, scaled: boolean): StepInputSpec[] {
  const shape = [rows, length];
  return [
    { name: 'input_ids', shape, dtype: 'int64' },
    { name: 'attention_mask', shape, dtype: 'int64' },
    { name: 'position_ids', shape, dtype: 'int64' },
    { name: 'labels', shape, dtype: 'int64' },
    ...(packed ? [{ name: 'segment_ids', shape, dtype: 'int32' as const }] : []),
    ...(scaled ? [{ name: 'loss_scale', shape: [], dtype: 'float32' as const }] : []),
  ];
}

/** Σ −log p(label) over the supervised tokens of the batch, and the logits. */
export function summedLoss(model: CausalLmModel, inputs: Record<string, Tensor>, extra: Record<string, unknown> = {}): { loss: Tensor; logits: Tensor } {
  const segments = inputs.segment_ids;
  const attentionMask = segments ? sameSegment(segments) : inputs.attention_mask!;
  const { logits } = model.forward({ ...extra, inputIds: inputs.input_ids!, attentionMask, positionIds: inputs.position_ids! });
  return { loss: causalLmCrossentropy(inputs.labels!, logits, { reduction: 'sum' }), logits };
}

/** [B, T, T]: query q may see key k when both are in the same (non-padding) segment; the model adds causality. */
function sameSegment(segments: Tensor): Tensor {
  const same = F.equal(F.unsqueeze(segments, [2]), F.unsqueeze(segments, [1]));
  return F.and(same, F.unsqueeze(F.greater(segments, 0), [1]));
}

/** The training step's loss: the batch's summed loss times loss_scale (1 / the step's supervised tokens). */
export function stepLoss(m: TrainableModel, inputs: Record<string, Tensor>): Tensor {
  return F.mul(summedLoss(m.model, inputs, m.trainingInputs?.()).loss, inputs.loss_scale!);
}

/** The evaluation graph of a [rows, length] batch: its summed loss, weights fed as inputs so training never invalidates it. */
export function compileEvalGraph(model: CausalLmModel, rows: number, signature: Signature): Promise<CompiledGraph> {
  return CompiledGraph.compile(
    trace((g) => {
      const inputs = Object.fromEntries(batchInputs(rows, signature, false).map((i) => [i.name, g.input(i.name, i.shape, i.dtype)]));
      const { loss } = summedLoss(model, inputs);
      return { graph: g, inputs: Object.values(inputs), outputs: { loss_sum: loss }, variables: 'inputs' as const, name: `finetune_eval_${signatureKey(signature)}` };
    }),
  );
}

/**
 * Whether AdamW leaves a Variable undecayed. transformers' Trainer decays every
 * parameter but biases and LayerNorm/RMSNorm weights, by name; in the
 * architectures Forja loads those are exactly the rank-1 tensors (and every
 * rank-1 tensor is one of them), so rank < 2 decides, also for names PEFT
 * prefixes. Embeddings and LoRA's A/B matrices are decayed, as in HF.
 */
export const excludedFromWeightDecay = (v: Variable): boolean => v.shape.length < 2;

/** Copy `batch` into [rows, length] buffers; rows past the batch's are padding (mask 0, labels -100), which adds nothing to the loss. */
export function fillBatch(buffers: Readonly<Record<string, HostData>>, batch: FinetuneBatch, rows: number): void {
  const n = batch.batchSize * batch.seqLength;
  const put = (name: string, data: BigInt64Array | Int32Array, pad: number): void => {
    const out = buffers[name];
    if (!out) return;
    if (out.length !== rows * batch.seqLength || batch.batchSize > rows) {
      throw new Error(`internal: buffer '${name}' holds ${out.length} values, the batch needs ${batch.batchSize} of ${rows} rows × ${batch.seqLength}`);
    }
    if (out instanceof BigInt64Array && data instanceof BigInt64Array) {
      out.set(data);
      out.fill(BigInt(pad), n);
    } else if (out instanceof Int32Array && data instanceof Int32Array) {
      out.set(data);
      out.fill(pad, n);
    } else throw new Error(`internal: buffer '${name}' is a ${out.constructor.name}, the batch gives a ${data.constructor.name}`);
  };
  put('input_ids', batch.inputIds, 0);
  put('attention_mask', batch.attentionMask, 0);
  put('position_ids', batch.positionIds, 0);
  put('labels', batch.labels, -100);
  put('segment_ids', batch.segmentIds, 0);
}
