/**
 * BEIR-style evaluation of a store: every judged query is retrieved in each mode (documents, ranked by
 * their best chunk), scored with BEIR's metrics, and timed. The store must hold the dataset's corpus,
 * each document under its BEIR `_id`.
 *
 * As BEIR's `ignore_identical_ids` (on by default there), a document whose id equals the query id is
 * dropped from that query's ranking: on ArguAna the query is itself a corpus document. Retrieval fetches
 * one extra document so a ranking still holds k. (SciFact's query and document ids never collide, so
 * there it changes nothing.)
 */
import type { TextEmbedder, TextReranker } from '../../text/embedder.js';
import type { Bm25Params } from '../lexical/bm25.js';
import { retrieve, type FusionOptions, type RetrievalMode, type RetrievalWarning } from '../retrieve.js';
import { RetrievalSettingsError, checkInteger } from '../retrieve/errors.js';
import type { Store } from '../store/types.js';
import { loadBeirDataset, type BeirDataset } from './beir.js';
import { DEFAULT_CUTOFFS, evaluateRun, type Cutoffs, type Metrics, type Run } from './metrics.js';

export type EvalMode = RetrievalMode | 'rerank';
export const EVAL_MODES: readonly EvalMode[] = ['bm25', 'dense', 'hybrid', 'rerank'];

export interface EvaluateOptions {
  store: Store;
  /** A BEIR dataset directory, or one already loaded. */
  dataset: string | BeirDataset;
  /** The qrels split; default 'test'. */
  split?: string;
  /** Default: bm25, with an embedder also dense and hybrid, with a reranker also rerank. */
  modes?: readonly EvalMode[];
  embedder?: TextEmbedder;
  reranker?: TextReranker;
  /** Documents retrieved per query; default 100 (what MAP@100 and Recall@100 need). */
  k?: number;
  cutoffs?: Cutoffs;
  bm25?: Partial<Bm25Params>;
  fusion?: FusionOptions;
  /** The 'rerank' mode: which first stage it reranks (default bm25, as BEIR's BM25+CE) and how deep (default k, at least k). */
  rerank?: { base?: RetrievalMode; top?: number };
  /** Default true, as BEIR. */
  ignoreIdenticalIds?: boolean;
  onProgress?: (progress: { mode: EvalMode; done: number; total: number }) => void;
  onWarning?: (warning: RetrievalWarning & { queryId: string }) => void;
  signal?: AbortSignal;
}

export interface Latency {
  p50: number;
  p95: number;
  mean: number;
}

export interface ModeReport {
  mode: EvalMode;
  /** Means over the judged queries. */
  metrics: Metrics;
  perQuery: Map<string, Metrics>;
  /** Milliseconds per query, retrieval and any model calls included. */
  latencyMs: Latency;
  /** Documents dropped because their id was the query's. */
  identicalIdsRemoved: number;
  run: Run;
}

export interface EvaluationReport {
  dataset: string;
  split: string;
  queries: number;
  /** Judged queries without a relevant document; BEIR counts them, as 0. */
  queriesWithoutRelevant: number;
  k: number;
  modes: ModeReport[];
}

/** The q-quantile of `values` with linear interpolation between order statistics (numpy's default). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

function defaultModes(o: EvaluateOptions): EvalMode[] {
  const modes: EvalMode[] = ['bm25'];
  if (o.embedder) modes.push('dense', 'hybrid');
  if (o.reranker) modes.push('rerank');
  return modes;
}

function checkModes(modes: readonly EvalMode[], o: EvaluateOptions, base: RetrievalMode): void {
  if (modes.length === 0) throw new RetrievalSettingsError('modes', '{modes} is empty: choose at least one');
  for (const m of modes) {
    if (!EVAL_MODES.includes(m)) throw new RetrievalSettingsError('modes', `{modes} holds ${String(m)}; the modes are ${EVAL_MODES.join(', ')}`);
    if (m === 'rerank' && !o.reranker) throw new RetrievalSettingsError('reranker', '{modes} rerank needs a {reranker}');
    const first = m === 'rerank' ? base : m;
    if (first !== 'bm25' && !o.embedder) throw new RetrievalSettingsError('embedder', `{modes} ${m}${m === 'rerank' ? ` (over ${base})` : ''} needs an {embedder}`);
  }
}

/** Runs every mode over the dataset's judged queries and scores each. */
export async function evaluate(o: EvaluateOptions): Promise<EvaluationReport> {
  const k = o.k ?? 100;
  checkInteger('k', k, 1);
  const base = o.rerank?.base ?? 'bm25';
  const rerankTop = o.rerank?.top ?? k;
  checkInteger('rerank.top', rerankTop, k);
  const modes = o.modes ?? defaultModes(o);
  checkModes(modes, o, base);
  const dataset = typeof o.dataset === 'string' ? await loadBeirDataset(o.dataset, o.split ?? 'test') : o.dataset;
  const ignoreIdentical = o.ignoreIdenticalIds ?? true;
  const reports: ModeReport[] = [];
  let withoutRelevant = 0;

  for (const mode of modes) {
    const run: Run = new Map();
    const times: number[] = [];
    let removed = 0;
    let done = 0;
    for (const [qid, text] of dataset.queries) {
      o.signal?.throwIfAborted();
      const started = performance.now();
      const results = await retrieve(o.store, text, {
        mode: mode === 'rerank' ? base : mode,
        k: ignoreIdentical ? k + 1 : k,
        unit: 'document',
        embedder: o.embedder,
        reranker: mode === 'rerank' ? o.reranker : undefined,
        rerankTop: mode === 'rerank' ? rerankTop + (ignoreIdentical ? 1 : 0) : undefined,
        bm25: o.bm25,
        fusion: o.fusion,
        onWarning: o.onWarning ? (w) => o.onWarning!({ ...w, queryId: qid }) : undefined,
      });
      times.push(performance.now() - started);
      let ranking = results.map((r) => ({ docId: r.chunk.docId, score: r.score }));
      if (ignoreIdentical) {
        const kept = ranking.filter((d) => d.docId !== qid);
        removed += ranking.length - kept.length;
        ranking = kept;
      }
      run.set(qid, ranking.slice(0, k));
      o.onProgress?.({ mode, done: ++done, total: dataset.queries.size });
    }
    const scored = evaluateRun(dataset.qrels, run, o.cutoffs ?? DEFAULT_CUTOFFS);
    withoutRelevant = scored.queriesWithoutRelevant;
    const mean = times.reduce((s, t) => s + t, 0) / Math.max(1, times.length);
    reports.push({ mode, metrics: scored.metrics, perQuery: scored.perQuery, latencyMs: { p50: quantile(times, 0.5), p95: quantile(times, 0.95), mean }, identicalIdsRemoved: removed, run });
  }
  return { dataset: dataset.dir, split: dataset.split, queries: dataset.queries.size, queriesWithoutRelevant: withoutRelevant, k, modes: reports };
}
