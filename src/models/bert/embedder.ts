/**
 * Sentence embeddings from a sentence-transformers BERT: texts are prefixed
 * with the role's prompt, tokenized, truncated, grouped into batches of
 * similar length, run through one graph that encodes, pools and normalises,
 * and returned in input order.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadCheckpointOptions } from '../../io/hf-checkpoint.js';
import { CompileCache } from '../../runtime/session.js';
import type { EmbeddingRole, TextEmbedder } from '../../text/embedder.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import { ConfigError } from '../transformer/config.js';
import { lengthBatches, padBatch, type BatchLimits, type EncodedText, type PaddedBatch } from './encoding.js';
import { BertSession, embeddingGraph, LAST_HIDDEN_STATE, SENTENCE_EMBEDDING, type BertGraphOptions } from './graph.js';
import { loadBertParts, maxTokensOf, resolveWithoutWeights, type BertParts } from './load.js';
import type { Bert } from './model.js';
import { isPoolingMode, POOLING_MODES, type PoolingMode } from './pooling.js';
import { MODULES_FILE, promptFor, readModules, readSentenceTransformerLayout, SENTENCE_TRANSFORMERS_FILES, SentenceTransformersError } from './sentence-transformers.js';

export interface SentenceEmbedderOptions extends LoadCheckpointOptions {
  /** Text put before each query / passage, instead of the model's prompts (e5: "query: ", "passage: "). */
  prefixes?: { query?: string; passage?: string };
  /** Overrides 1_Pooling; required for a plain BERT directory without modules.json. */
  pooling?: PoolingMode;
  /** Overrides whether a Normalize module is present. */
  normalize?: boolean;
  /** Longest input in tokens, special tokens included (default max_seq_length, else the tokenizer's limit). */
  maxTokens?: number;
  /** Rows per batch (default 32). */
  batchSize?: number;
  /** Rows × padded tokens per batch (default 8192). */
  maxBatchTokens?: number;
  /** Called for each text cut to maxTokens: its index in the call, and its length in tokens before the cut. */
  onTruncate?: (index: number, tokens: number, maxTokens: number) => void;
  /** Run attention and the residual LayerNorms as ONNX Runtime's fused kernels (./graph.ts); default false. */
  fused?: boolean;
}

export interface EmbedOptions {
  pooling?: PoolingMode;
  normalize?: boolean;
}

const DEFAULT_LIMITS: BatchLimits = { batchSize: 32, maxBatchTokens: 8192 };

export class SentenceEmbedder implements TextEmbedder {
  readonly dimension: number;
  private readonly sessions = new CompileCache<string, BertSession>();

  constructor(
    readonly modelId: string,
    private readonly parts: BertParts,
    readonly maxTokens: number,
    readonly pooling: PoolingMode,
    readonly normalize: boolean,
    /** The text put before a query, a passage, and a text with no role. */
    readonly prefixes: Readonly<Record<EmbeddingRole | 'none', string>>,
    private readonly limits: BatchLimits = DEFAULT_LIMITS,
    private readonly onTruncate?: SentenceEmbedderOptions['onTruncate'],
    private readonly graphOptions: BertGraphOptions = {},
  ) {
    this.dimension = parts.model.config.hiddenSize;
  }

  get dir(): string {
    return this.parts.dir;
  }

  /** The encoder and its weights (what fine-tuning trains). */
  get model(): Bert {
    return this.parts.model;
  }

  get tokenizer(): Tokenizer {
    return this.parts.tokenizer;
  }

  countTokens(text: string): number {
    return this.parts.tokenizer.encode(text, { addSpecialTokens: false }).length;
  }

  /** The model input of one text: the role's prefix, truncated to maxTokens, special tokens added. */
  tokenize(text: string, role?: EmbeddingRole): EncodedText & { truncatedFrom?: number } {
    const ids = this.parts.tokenizer.encode(this.prefixes[role ?? 'none'] + text, { addSpecialTokens: false });
    const room = this.maxTokens - this.parts.template.singleSpecials;
    const encoded = this.parts.template.single(ids.length > room ? ids.slice(0, room) : ids);
    return ids.length > room ? { ...encoded, truncatedFrom: ids.length + this.parts.template.singleSpecials } : encoded;
  }

  async embed(texts: readonly string[], role?: EmbeddingRole, opts: EmbedOptions = {}): Promise<Float32Array[]> {
    texts.forEach((t, i) => {
      if (typeof t !== 'string') throw new TypeError(`${this.modelId}: text ${i} must be a string, received ${typeof t}`);
    });
    const encoded = texts.map((t, i) => {
      const e = this.tokenize(t, role);
      if (e.truncatedFrom !== undefined) this.onTruncate?.(i, e.truncatedFrom, this.maxTokens);
      return e;
    });
    const session = await this.session(opts.pooling ?? this.pooling, opts.normalize ?? this.normalize);
    const out = new Array<Float32Array>(texts.length);
    const d = this.dimension;
    for (const rows of lengthBatches(encoded.map((e) => e.ids.length), this.limits)) {
      const batch = padBatch(rows.map((i) => encoded[i]!), this.parts.padId);
      const { data } = (await session.run(batch, [SENTENCE_EMBEDDING]))[SENTENCE_EMBEDDING]!;
      rows.forEach((i, r) => (out[i] = data.slice(r * d, (r + 1) * d)));
    }
    return out;
  }

  /** One padded batch as given (no sorting): last_hidden_state (B, T, H) and sentence_embedding (B, H). */
  async forward(batch: PaddedBatch): Promise<{ lastHiddenState: Float32Array; sentenceEmbedding: Float32Array }> {
    const out = await (await this.session(this.pooling, this.normalize)).run(batch, [LAST_HIDDEN_STATE, SENTENCE_EMBEDDING]);
    return { lastHiddenState: out[LAST_HIDDEN_STATE]!.data, sentenceEmbedding: out[SENTENCE_EMBEDDING]!.data };
  }

  /** The pad token id, to build batches for `forward` with padBatch. */
  get padId(): number {
    return this.parts.padId;
  }

  async release(): Promise<void> {
    await this.sessions.clear();
  }

  private session(pooling: PoolingMode, normalize: boolean): Promise<BertSession> {
    if (!isPoolingMode(pooling)) throw new ConfigError(`${this.modelId}: pooling mode ${JSON.stringify(pooling)} is not supported (supported: ${POOLING_MODES.join(', ')})`);
    return this.sessions.get(`${pooling}/${normalize}`, () => BertSession.compile(embeddingGraph(this.parts.model, { pooling, normalize }, this.graphOptions)));
  }
}

/**
 * A sentence-transformers BERT (all-MiniLM-L6-v2, bge-small, e5-small, gte-small, ...) from
 * a directory or hub id. A BERT directory without modules.json loads when `pooling` is given.
 */
export async function loadSentenceEmbedder(dirOrId: string, opts: SentenceEmbedderOptions = {}): Promise<SentenceEmbedder> {
  const { prefixes, pooling, normalize, maxTokens, batchSize, maxBatchTokens, onTruncate, fused, ...load } = opts;
  const limits = { batchSize: batchSize ?? DEFAULT_LIMITS.batchSize, maxBatchTokens: maxBatchTokens ?? DEFAULT_LIMITS.maxBatchTokens };
  for (const [key, v] of Object.entries(limits)) {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`loadSentenceEmbedder ${dirOrId}: ${key} must be a positive integer, received ${v}`);
  }
  const hubId = existsSync(dirOrId) ? undefined : dirOrId;
  const root = await resolveWithoutWeights(dirOrId, load, SENTENCE_TRANSFORMERS_FILES);
  const plain = !existsSync(join(root, MODULES_FILE)) && pooling !== undefined;
  const layout = plain ? undefined : await readLayout(root, hubId, load);
  if (layout && !layout.includePrompt && Object.values(layout.prompts).some((p) => p !== '')) {
    throw new SentenceTransformersError(join(root, 'config_sentence_transformers.json'), 'has prompts and the Pooling module leaves them out (include_prompt false), which Forja does not compute');
  }
  if (hubId !== undefined && layout && layout.transformerDir !== root) {
    throw new SentenceTransformersError(join(root, MODULES_FILE), 'puts the Transformer module in a subfolder, which Forja reads from local directories only');
  }
  const parts = await loadBertParts(layout?.transformerDir ?? root, hubId, { pooler: false, classifier: false }, load);
  const hidden = parts.model.config.hiddenSize;
  if (layout?.dimension !== undefined && layout.dimension !== hidden) {
    throw new SentenceTransformersError(layout.poolingFile, `embedding_dimension ${layout.dimension} differs from the model's hidden_size ${hidden}`);
  }
  const prompts = layout?.prompts ?? {};
  const defaultPrompt = layout?.defaultPromptName !== undefined ? (prompts[layout.defaultPromptName] ?? '') : '';
  return new SentenceEmbedder(
    dirOrId,
    parts,
    maxTokensOf(parts, layout?.maxSeqLength, maxTokens, `loadSentenceEmbedder ${dirOrId}`, 'single'),
    pooling ?? layout!.pooling,
    normalize ?? layout?.normalize ?? false,
    {
      query: prefixes?.query ?? promptFor(prompts, 'query'),
      passage: prefixes?.passage ?? promptFor(prompts, 'passage'),
      none: defaultPrompt,
    },
    limits,
    onTruncate,
    { fused: fused ?? false },
  );
}

/** The layout, fetching the module configs modules.json names when the model comes from the hub. */
async function readLayout(root: string, hubId: string | undefined, load: LoadCheckpointOptions) {
  if (hubId !== undefined && existsSync(join(root, MODULES_FILE))) {
    const extra = (await readModules(root)).filter((m) => m.kind !== 'Transformer').map((m) => `${m.path}/config.json`);
    await resolveWithoutWeights(hubId, load, [...SENTENCE_TRANSFORMERS_FILES, ...extra]);
  }
  return readSentenceTransformerLayout(root);
}
