/**
 * BERT inference graphs, weights as initializers, with symbolic batch and
 * sequence length: one compiled session serves every batch. Inputs and the
 * last_hidden_state output carry the names transformers.js (Optimum) uses.
 */
import type ort from 'onnxruntime-node';
import { trace } from '../../core/graph.js';
import type { EmitOptions } from '../../onnx/emit.js';
import { CompiledGraph, int64 } from '../../runtime/session.js';
import type { PaddedBatch } from './encoding.js';
import type { Bert } from './model.js';
import { l2Normalize, pool, type PoolingMode } from './pooling.js';

const BATCH = 'batch_size';
const SEQUENCE = 'sequence_length';
export const LAST_HIDDEN_STATE = 'last_hidden_state';
export const SENTENCE_EMBEDDING = 'sentence_embedding';
export const LOGITS = 'logits';

export interface EmbeddingHead {
  /** Pool into `sentence_embedding` (B, H); without it the graph only has last_hidden_state. */
  pooling?: PoolingMode;
  /** L2-normalise the pooled vector (sentence-transformers' Normalize module). */
  normalize?: boolean;
}

export interface BertGraphOptions {
  /**
   * Attention and the residual LayerNorms as ONNX Runtime's com.microsoft kernels (core/ops/fused.ts), which
   * other runtimes do not have. Default false: standard ONNX ops only.
   */
  fused?: boolean;
}

type Head = { kind: 'embedding'; head: EmbeddingHead } | { kind: 'classifier' };

function bertGraph(model: Bert, head: Head, options: BertGraphOptions): EmitOptions {
  return trace((g) => {
    const inputIds = g.input('input_ids', [BATCH, SEQUENCE], 'int64');
    const attentionMask = g.input('attention_mask', [BATCH, SEQUENCE], 'int64');
    const tokenTypeIds = g.input('token_type_ids', [BATCH, SEQUENCE], 'int64');
    const inputs = { inputIds, attentionMask, tokenTypeIds, fused: options.fused ?? false };
    const outputs: EmitOptions['outputs'] = {};
    if (head.kind === 'classifier') outputs[LOGITS] = model.classify(inputs);
    else {
      const hidden = model.encode(inputs);
      outputs[LAST_HIDDEN_STATE] = hidden;
      const { pooling, normalize } = head.head;
      if (pooling) {
        const pooled = pool(hidden, attentionMask, pooling);
        outputs[SENTENCE_EMBEDDING] = normalize ? l2Normalize(pooled) : pooled;
      }
    }
    return { graph: g, inputs: [inputIds, attentionMask, tokenTypeIds], outputs, variables: 'initializers', name: model.config.architecture };
  });
}

/** input_ids, attention_mask, token_type_ids → last_hidden_state (+ sentence_embedding with a pooling mode). */
export const embeddingGraph = (model: Bert, head: EmbeddingHead = {}, options: BertGraphOptions = {}): EmitOptions =>
  bertGraph(model, { kind: 'embedding', head }, options);

/** input_ids, attention_mask, token_type_ids → logits (B, num_labels). */
export const classifierGraph = (model: Bert, options: BertGraphOptions = {}): EmitOptions => bertGraph(model, { kind: 'classifier' }, options);

/** A compiled BERT graph fed with padded batches; concurrent calls run one after another. */
export class BertSession {
  // CompiledGraph reuses one feed record, so runs must not overlap.
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly graph: CompiledGraph) {}

  static async compile(opts: EmitOptions): Promise<BertSession> {
    return new BertSession(await CompiledGraph.compile(opts));
  }

  /** The named outputs of one batch, as float32 arrays with their dims. */
  async run(batch: PaddedBatch, fetch: readonly string[]): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
    const dims = [batch.rows, batch.length];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(batch.inputIds, dims),
      attention_mask: int64(batch.attentionMask, dims),
      token_type_ids: int64(batch.tokenTypeIds, dims),
    };
    const run = this.queue.then(() => this.graph.run(feeds, fetch));
    this.queue = run.catch(() => undefined);
    const out = await run;
    return Object.fromEntries(fetch.map((name) => [name, { data: out[name]!.data as Float32Array, dims: [...out[name]!.dims] }]));
  }

  async release(): Promise<void> {
    await this.graph.release();
  }
}
