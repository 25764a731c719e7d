/**
 * Retrieval over a Store: BM25, dense, or both fused by reciprocal rank fusion; then, optionally, a
 * cross-encoder reranks the top candidates and MMR diversifies them. Every result carries its chunk
 * (document, path, offsets, page, headings, text) and the score and rank each stage gave it.
 *
 *   bm25 ─┐
 *         ├─ fusion (hybrid) ─ rerank (top rerankTop) ─ mmr (top fetchK) ─ top k
 *   dense ┘
 */
import { StoreMismatchError } from './errors.js';
import { ANALYZER } from './lexical/analyzer.js';
import { ANSERINI_BM25, bm25Scores, checkBm25Params, rankScores, type Bm25Params } from './lexical/bm25.js';
import { RecordCache, rankUnits, type RetrievalUnit, type UnitHit } from './retrieve/candidates.js';
import { RetrievalSettingsError, checkInteger, checkRange } from './retrieve/errors.js';
import { checkFilter } from './retrieve/filters.js';
import { RRF_K, reciprocalRankFusion } from './retrieve/fusion.js';
import { maximalMarginalRelevance } from './retrieve/mmr.js';
import type { ChunkFilter, ChunkRecord, Store, StoreInfo } from './store/types.js';
import type { TextEmbedder, TextReranker } from '../text/embedder.js';

export type { RetrievalUnit } from './retrieve/candidates.js';
export type RetrievalMode = 'bm25' | 'dense' | 'hybrid';
export const RETRIEVAL_MODES: readonly RetrievalMode[] = ['bm25', 'dense', 'hybrid'];

export interface FusionOptions {
  /** RRF's constant c in weight / (c + rank); default 60. */
  k?: number;
  /** Per-list weights; default 1 each. */
  weights?: { bm25?: number; dense?: number };
  /** How many hits each list contributes; default the larger of 100 and the candidates needed. */
  depth?: number;
}

export interface MmrOptions {
  /** 1 ranks by relevance alone, 0 by diversity alone; default 0.5. */
  lambda?: number;
  /** How many top candidates MMR chooses the k results from; default the larger of 20 and 2·k. */
  fetchK?: number;
}

/** Something the caller may want to tell its user; the library never prints. */
export interface RetrievalWarning {
  code: 'query-truncated';
  message: string;
  model: string;
  /** The query's length in the model's tokens, special tokens included. */
  tokens: number;
  maxTokens: number;
}

export interface RetrieveOptions {
  /** Default 'hybrid' with an embedder, else 'bm25'. */
  mode?: RetrievalMode;
  /** Results wanted; default 10. */
  k?: number;
  filter?: ChunkFilter;
  /** 'document' ranks documents by their best chunk (BEIR judges documents); default 'chunk'. */
  unit?: RetrievalUnit;
  /** BM25 parameters; default Anserini's (k1 0.9, b 0.4, Lucene's lengths). */
  bm25?: Partial<Bm25Params>;
  /** Embeds the query for 'dense' and 'hybrid'. */
  embedder?: TextEmbedder;
  /** A cross-encoder that rescores the top `rerankTop` candidates; results come from those. */
  reranker?: TextReranker;
  /** Candidates the reranker scores; default k, at least k. */
  rerankTop?: number;
  mmr?: MmrOptions;
  fusion?: FusionOptions;
  onWarning?: (warning: RetrievalWarning) => void;
}

export interface StageScore {
  score: number;
  /** 1-based rank within the stage. */
  rank: number;
}

export interface RetrievalStages {
  bm25?: StageScore;
  dense?: StageScore;
  /** Reciprocal rank fusion, in hybrid mode. */
  fused?: StageScore;
  /** The cross-encoder's raw score. */
  rerank?: StageScore;
  /** The MMR objective when the result was picked. */
  mmr?: StageScore;
}

export interface RetrievalResult {
  chunk: ChunkRecord;
  /** The last stage's score: results are in decreasing order of it. */
  score: number;
  /** 1-based. */
  rank: number;
  stages: RetrievalStages;
}

// BERT-family encoders add [CLS] and [SEP] to what countTokens counts.
const SPECIAL_TOKENS = 2;

interface Candidate {
  key: string;
  chunkId: number;
  score: number;
  stages: RetrievalStages;
}

interface Resolved {
  mode: RetrievalMode;
  k: number;
  unit: RetrievalUnit;
  bm25: Bm25Params;
  rerankTop: number;
  mmr?: { lambda: number; fetchK: number };
  fusion: { k: number; bm25: number; dense: number; depth: number };
  depth: number;
}

function resolve(o: RetrieveOptions): Resolved {
  const mode = o.mode ?? (o.embedder ? 'hybrid' : 'bm25');
  if (!RETRIEVAL_MODES.includes(mode)) throw new RetrievalSettingsError('mode', `{mode} must be one of ${RETRIEVAL_MODES.join(', ')}, not ${String(mode)}`);
  if (mode !== 'bm25' && !o.embedder) throw new RetrievalSettingsError('embedder', `{mode} ${mode} needs an {embedder} for the query`);
  const k = o.k ?? 10;
  checkInteger('k', k, 1);
  const unit = o.unit ?? 'chunk';
  if (unit !== 'chunk' && unit !== 'document') throw new RetrievalSettingsError('unit', `{unit} must be 'chunk' or 'document', not ${String(unit)}`);
  const bm25 = { ...ANSERINI_BM25, ...o.bm25 };
  checkBm25Params(bm25);
  if (o.rerankTop !== undefined && !o.reranker) throw new RetrievalSettingsError('rerankTop', '{rerankTop} is set but there is no {reranker}');
  const rerankTop = o.rerankTop ?? k;
  checkInteger('rerankTop', rerankTop, k);
  let mmr: Resolved['mmr'];
  if (o.mmr) {
    mmr = { lambda: o.mmr.lambda ?? 0.5, fetchK: o.mmr.fetchK ?? Math.max(20, 2 * k) };
    checkRange('mmr.lambda', mmr.lambda, 0, 1);
    checkInteger('mmr.fetchK', mmr.fetchK, k);
  }
  const depth = Math.max(k, o.reranker ? rerankTop : 0, mmr?.fetchK ?? 0);
  const fusion = { k: o.fusion?.k ?? RRF_K, bm25: o.fusion?.weights?.bm25 ?? 1, dense: o.fusion?.weights?.dense ?? 1, depth: o.fusion?.depth ?? Math.max(100, depth) };
  checkRange('fusion.k', fusion.k, 0);
  checkRange('fusion.weights.bm25', fusion.bm25, 0);
  checkRange('fusion.weights.dense', fusion.dense, 0);
  checkInteger('fusion.depth', fusion.depth, 1);
  if (o.filter) checkFilter(o.filter);
  return { mode, k, unit, bm25, rerankTop, mmr, fusion, depth };
}

// Settings never change once bound, so a bound store is checked once.
const checkedStores = new WeakMap<Store, StoreInfo>();

async function checkStore(store: Store, embedder: TextEmbedder | undefined): Promise<void> {
  let info = checkedStores.get(store);
  if (!info) {
    info = await store.info();
    if (info.analyzer) checkedStores.set(store, info);
  }
  if (info.analyzer && info.analyzer !== ANALYZER) throw new StoreMismatchError(store.location, 'analyzer', info.analyzer, ANALYZER);
  if (!embedder) return;
  if (!info.embedModel) throw new RetrievalSettingsError('embedder', `{embedder} ${embedder.modelId} given, but ${store.location} holds no embeddings: search it with mode bm25`);
  if (info.embedModel !== embedder.modelId) throw new StoreMismatchError(store.location, 'embedding model', info.embedModel, embedder.modelId);
  if (info.dimension !== undefined && info.dimension !== embedder.dimension) throw new StoreMismatchError(store.location, 'dimension', info.dimension, embedder.dimension);
}

function toCandidates(hits: readonly UnitHit[], stage: 'bm25' | 'dense'): Candidate[] {
  return hits.map((h, i) => ({ key: h.key, chunkId: h.chunkId, score: h.score, stages: { [stage]: { score: h.score, rank: i + 1 } } }));
}

/** The chunks (or documents) that best answer `query`, best first. */
export async function retrieve(store: Store, query: string, options: RetrieveOptions = {}): Promise<RetrievalResult[]> {
  const o = resolve(options);
  const embedder = o.mode === 'bm25' ? undefined : options.embedder;
  await checkStore(store, embedder);
  const records = new RecordCache(store);
  const listDepth = o.mode === 'hybrid' ? o.fusion.depth : o.depth;

  const lexical = async (): Promise<Candidate[]> => {
    const scores = await bm25Scores(store, query, o.bm25, options.filter);
    return toCandidates(await rankUnits(async (n) => rankScores(scores, n), listDepth, o.unit, records), 'bm25');
  };
  const dense = async (): Promise<Candidate[]> => {
    const model = embedder!;
    const tokens = model.countTokens(query) + SPECIAL_TOKENS;
    if (tokens > model.maxTokens) {
      options.onWarning?.({ code: 'query-truncated', model: model.modelId, tokens, maxTokens: model.maxTokens, message: `the query is ${tokens} tokens long; ${model.modelId} reads only its first ${model.maxTokens}` });
    }
    const [vector] = await model.embed([query], 'query');
    if (!vector) throw new Error(`${model.modelId} returned no vector for the query`);
    const hits = await rankUnits(async (n) => (await store.vectorSearch(vector, n, options.filter)).map((h) => ({ id: h.chunkId, score: h.score })), listDepth, o.unit, records);
    return toCandidates(hits, 'dense');
  };

  let ranked: Candidate[];
  if (o.mode === 'bm25') ranked = await lexical();
  else if (o.mode === 'dense') ranked = await dense();
  else ranked = fuse(...(await Promise.all([lexical(), dense()])), o.fusion);
  ranked = ranked.slice(0, o.depth);

  if (options.reranker) ranked = await rerank(options.reranker, query, ranked.slice(0, o.rerankTop), records);
  if (o.mmr) ranked = await diversify(store, ranked.slice(0, o.mmr.fetchK), o.k, o.mmr.lambda);

  const top = ranked.slice(0, o.k);
  await records.load(top.map((c) => c.chunkId));
  return top.map((c, i) => ({ chunk: records.get(c.chunkId), score: c.score, rank: i + 1, stages: c.stages }));
}

function fuse(lexical: Candidate[], dense: Candidate[], f: Resolved['fusion']): Candidate[] {
  const byKey = new Map<string, Candidate>();
  for (const c of lexical) byKey.set(c.key, { ...c, stages: { ...c.stages } });
  for (const c of dense) {
    const seen = byKey.get(c.key);
    if (!seen) byKey.set(c.key, { ...c, stages: { ...c.stages } });
    else {
      seen.stages.dense = c.stages.dense;
      // A document is represented by the chunk of the list that ranks it higher.
      if (c.stages.dense!.rank < seen.stages.bm25!.rank) seen.chunkId = c.chunkId;
    }
  }
  const fused = reciprocalRankFusion(
    [
      { keys: lexical.map((c) => c.key), weight: f.bm25 },
      { keys: dense.map((c) => c.key), weight: f.dense },
    ],
    f.k,
  );
  return fused.map((x, i) => {
    const c = byKey.get(x.key)!;
    c.score = x.score;
    c.stages.fused = { score: x.score, rank: i + 1 };
    return c;
  });
}

async function rerank(reranker: TextReranker, query: string, candidates: Candidate[], records: RecordCache): Promise<Candidate[]> {
  if (candidates.length === 0) return candidates;
  await records.load(candidates.map((c) => c.chunkId));
  const scores = await reranker.score(query, candidates.map((c) => records.get(c.chunkId).text));
  if (scores.length !== candidates.length) throw new Error(`${reranker.modelId} returned ${scores.length} scores for ${candidates.length} passages`);
  const order = candidates.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order.map((i, r) => {
    const c = candidates[i]!;
    const score = scores[i]!;
    return { ...c, score, stages: { ...c.stages, rerank: { score, rank: r + 1 } } };
  });
}

async function diversify(store: Store, candidates: Candidate[], k: number, lambda: number): Promise<Candidate[]> {
  const vectors = await store.vectors(candidates.map((c) => c.chunkId));
  const missing = candidates.find((c) => !vectors.has(c.chunkId));
  if (missing) throw new RetrievalSettingsError('mmr', `{mmr} compares chunk vectors, and ${store.location} has none for chunk ${missing.chunkId}: ingest with an embedding model`);
  const byId = new Map(candidates.map((c) => [c.chunkId, c]));
  const picks = maximalMarginalRelevance(candidates.map((c) => ({ id: c.chunkId, score: c.score })), vectors, k, lambda);
  return picks.map((p, i) => {
    const c = byId.get(p.id)!;
    return { ...c, score: p.score, stages: { ...c.stages, mmr: { score: p.score, rank: i + 1 } } };
  });
}
