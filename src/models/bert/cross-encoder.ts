/**
 * A BERT cross-encoder (BertForSequenceClassification, as the ms-marco
 * rerankers): each (query, passage) pair is one input `[CLS] A [SEP] B [SEP]`
 * with segment ids 0 then 1, scored by the classifier over the pooled [CLS].
 */
import { existsSync } from 'node:fs';
import type { LoadCheckpointOptions } from '../../io/hf-checkpoint.js';
import type { TextReranker } from '../../text/embedder.js';
import { ConfigError } from '../transformer/config.js';
import { lengthBatches, padBatch, pairLengths, type BatchLimits, type EncodedText, type PaddedBatch } from './encoding.js';
import { BertSession, classifierGraph, LOGITS } from './graph.js';
import { loadBertParts, maxTokensOf, resolveWithoutWeights, type BertParts } from './load.js';

export interface CrossEncoderOptions extends LoadCheckpointOptions {
  /** Longest pair in tokens, special tokens included (default the tokenizer's limit). */
  maxTokens?: number;
  batchSize?: number;
  maxBatchTokens?: number;
}

/** The logistic function: what sentence-transformers' CrossEncoder.predict applies to one-label logits by default. */
export const sigmoid = (logit: number): number => 1 / (1 + Math.exp(-logit));

export class CrossEncoder implements TextReranker {
  readonly numLabels: number;

  constructor(
    readonly modelId: string,
    private readonly parts: BertParts,
    private readonly session: BertSession,
    readonly maxTokens: number,
    private readonly limits: BatchLimits,
  ) {
    this.numLabels = parts.model.config.numLabels;
  }

  /** The model input of a pair, cut to maxTokens (the query kept whole when it leaves room for the passage). */
  tokenizePair(query: string, passage: string): EncodedText {
    const encode = (text: string) => this.parts.tokenizer.encode(text, { addSpecialTokens: false });
    const [a, b] = [encode(query), encode(passage)];
    const [na, nb] = pairLengths(a.length, b.length, this.maxTokens - this.parts.template.pairSpecials);
    return this.parts.template.pair(a.slice(0, na), b.slice(0, nb));
  }

  /** Raw logits of each pair, (num_labels) each, in input order. */
  async logits(pairs: readonly (readonly [string, string])[]): Promise<Float32Array[]> {
    pairs.forEach((p, i) => {
      if (!Array.isArray(p) || typeof p[0] !== 'string' || typeof p[1] !== 'string') {
        throw new TypeError(`${this.modelId}: pair ${i} must be [query, passage] strings`);
      }
    });
    const encoded = pairs.map(([q, p]) => this.tokenizePair(q, p));
    const out = new Array<Float32Array>(pairs.length);
    const n = this.numLabels;
    for (const rows of lengthBatches(encoded.map((e) => e.ids.length), this.limits)) {
      const { data } = (await this.session.run(padBatch(rows.map((i) => encoded[i]!), this.parts.padId), [LOGITS]))[LOGITS]!;
      rows.forEach((i, r) => (out[i] = data.slice(r * n, (r + 1) * n)));
    }
    return out;
  }

  /** One raw logit per passage (higher is more relevant). */
  async score(query: string, passages: readonly string[]): Promise<number[]> {
    if (this.numLabels !== 1) throw new ConfigError(`${this.modelId}: a reranker needs one label, this classifier has num_labels ${this.numLabels}`);
    return (await this.logits(passages.map((p) => [query, p] as const))).map((l) => l[0]!);
  }

  /** sentence-transformers' CrossEncoder.predict: sigmoid of one-label logits (raw with `activation: 'none'`). */
  async predict(pairs: readonly (readonly [string, string])[], opts: { activation?: 'sigmoid' | 'none' } = {}): Promise<number[]> {
    if (this.numLabels !== 1) throw new ConfigError(`${this.modelId}: predict scores one-label classifiers, this one has num_labels ${this.numLabels}`);
    const raw = (await this.logits(pairs)).map((l) => l[0]!);
    return opts.activation === 'none' ? raw : raw.map(sigmoid);
  }

  /** One padded batch as given: logits (B, num_labels). */
  async forward(batch: PaddedBatch): Promise<Float32Array> {
    return (await this.session.run(batch, [LOGITS]))[LOGITS]!.data;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** A BertForSequenceClassification checkpoint from a directory or hub id. */
export async function loadCrossEncoder(dirOrId: string, opts: CrossEncoderOptions = {}): Promise<CrossEncoder> {
  const { maxTokens, batchSize = 32, maxBatchTokens = 8192, ...load } = opts;
  for (const [key, v] of Object.entries({ batchSize, maxBatchTokens })) {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`loadCrossEncoder ${dirOrId}: ${key} must be a positive integer, received ${v}`);
  }
  const hubId = existsSync(dirOrId) ? undefined : dirOrId;
  const dir = await resolveWithoutWeights(dirOrId, load);
  const parts = await loadBertParts(dir, hubId, { pooler: true, classifier: true }, load, ['BertForSequenceClassification']);
  const limit = maxTokensOf(parts, undefined, maxTokens, `loadCrossEncoder ${dirOrId}`, 'pair');
  return new CrossEncoder(dirOrId, parts, await BertSession.compile(classifierGraph(parts.model)), limit, { batchSize, maxBatchTokens });
}
