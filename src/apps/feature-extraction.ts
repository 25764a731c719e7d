/**
 * `pipeline('feature-extraction', model, { pooling?, normalize? })`: sentence embeddings from a
 * sentence-transformers BERT. As transformers.js, a call returns one tensor-like value for all
 * inputs, `{ data, dims: [n, hidden], tolist() }`; unlike transformers.js the model's own
 * pooling and Normalize modules apply by default (transformers.js defaults to no pooling).
 */
import { loadSentenceEmbedder, type SentenceEmbedder, type SentenceEmbedderOptions } from '../models/bert/embedder.js';
import type { PoolingMode } from '../models/bert/pooling.js';
import type { EmbeddingRole } from '../text/embedder.js';
import { withLoadProgress, type LoadProgressOptions } from './load-progress.js';

export interface FeatureExtractionOptions extends SentenceEmbedderOptions, LoadProgressOptions {}

export interface FeatureExtractionCallOptions {
  pooling?: PoolingMode;
  normalize?: boolean;
  /** Which prompt to prefix ('query' or 'passage'); default the model's default prompt, usually none. */
  role?: EmbeddingRole;
}

/** Row-major [n, hidden] embeddings, shaped like a transformers.js Tensor. */
export interface Embeddings {
  data: Float32Array;
  dims: [number, number];
  tolist(): number[][];
}

export interface FeatureExtractionPipeline {
  (input: string | readonly string[], options?: FeatureExtractionCallOptions): Promise<Embeddings>;
  readonly task: 'feature-extraction';
  readonly model: SentenceEmbedder;
  dispose(): Promise<void>;
}

function toEmbeddings(vectors: readonly Float32Array[], width: number): Embeddings {
  const data = new Float32Array(vectors.length * width);
  vectors.forEach((v, i) => data.set(v, i * width));
  return { data, dims: [vectors.length, width], tolist: () => vectors.map((v) => Array.from(v)) };
}

async function load(model: string, options: FeatureExtractionOptions): Promise<SentenceEmbedder> {
  const { progress_callback: _callback, onProgress: _onProgress, ...rest } = options;
  return withLoadProgress(model, options, (onProgress) => loadSentenceEmbedder(model, { ...rest, onProgress }));
}

/** A feature-extraction pipeline over a hub id, a directory, or an embedder already loaded. */
export async function featureExtractionPipeline(model: string | SentenceEmbedder, options: FeatureExtractionOptions = {}): Promise<FeatureExtractionPipeline> {
  const embedder = typeof model === 'string' ? await load(model, options) : model;
  const call = async (input: string | readonly string[], opts: FeatureExtractionCallOptions = {}): Promise<Embeddings> => {
    const texts = typeof input === 'string' ? [input] : input;
    if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) throw new TypeError('feature-extraction pipeline: input must be a string or a list of strings');
    const vectors = await embedder.embed(texts, opts.role, { ...(opts.pooling && { pooling: opts.pooling }), ...(opts.normalize !== undefined && { normalize: opts.normalize }) });
    return toEmbeddings(vectors, embedder.dimension);
  };
  return Object.assign(call, { task: 'feature-extraction' as const, model: embedder, dispose: () => embedder.release() });
}
