/**
 * `forja rag eval --dataset DIR [--mode bm25|dense|hybrid|rerank|all] [--run-file FILE] [--json]`: BEIR's
 * metrics for every mode in one report. Without --store the corpus is ingested into a temporary SQLite
 * store first, one chunk per document as BEIR indexes it (bounded by the embedder's context).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { evaluate, EVAL_MODES, type EvalMode, type EvaluationReport } from '../../../../rag/eval/evaluate.js';
import { loadBeirDataset } from '../../../../rag/eval/beir.js';
import { writeTrecRun } from '../../../../rag/eval/run-file.js';
import { ingest } from '../../../../rag/ingest.js';
import type { Store } from '../../../../rag/store/types.js';
import type { CrossEncoder } from '../../../../models/bert/cross-encoder.js';
import { CliError, EXIT } from '../../errors.js';
import { existingDirectory, positiveInt } from '../../options.js';
import { loadEmbedder, loadReranker, openStore, queryEmbedder, ragError, releaseAll, type Embedder } from './shared.js';

interface EvalFlags {
  dataset: string;
  split: string;
  mode: EvalMode | 'all';
  store?: string;
  embedModel?: string;
  rerank?: string;
  k: number;
  runFile?: string;
  json: boolean;
}

const METRICS = ['NDCG@10', 'MAP@100', 'Recall@10', 'Recall@100', 'MRR@10'];
// Whole BEIR documents in one chunk when there is no embedder to bound them.
const WHOLE_DOCUMENT = 1_000_000;

export function register(rag: Command): void {
  rag
    .command('eval')
    .description("Measure retrieval on a BEIR dataset (corpus.jsonl, queries.jsonl, qrels/): nDCG@10, MAP@100, Recall@10/100, MRR@10")
    .requiredOption('--dataset <dir>', 'a BEIR dataset directory', existingDirectory('--dataset'))
    .option('--split <name>', 'the qrels split', 'test')
    .addOption(new Option('--mode <mode>', 'what to measure; all = bm25, plus dense and hybrid with --embed-model, plus rerank with --rerank').choices([...EVAL_MODES, 'all']).default('all'))
    .option('--store <file|url>', 'a store already holding the corpus (default: a temporary SQLite store, ingested now)')
    .option('--embed-model <dir|id>', 'a sentence-transformers model for dense and hybrid')
    .option('--rerank <dir|id>', 'a cross-encoder; rerank reorders the BM25 top --k')
    .option('--k <n>', 'documents retrieved per query', positiveInt('--k'), 100)
    .option('--run-file <file>', 'write the TREC run (one file per mode when there are several: FILE.<mode>)')
    .option('--json', 'print the report as one JSON line', false)
    .action(run);
}

function runFileFor(file: string, mode: EvalMode, several: boolean): string {
  if (!several) return file;
  const ext = extname(file);
  return ext ? `${file.slice(0, -ext.length)}.${mode}${ext}` : `${file}.${mode}`;
}

function table(report: EvaluationReport): string {
  const head = ['mode', ...METRICS, 'p50 ms', 'p95 ms'];
  const rows = report.modes.map((m) => [m.mode, ...METRICS.map((k) => (m.metrics[k] ?? NaN).toFixed(4)), m.latencyMs.p50.toFixed(1), m.latencyMs.p95.toFixed(1)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

async function run(flags: EvalFlags): Promise<void> {
  const dataset = await loadBeirDataset(flags.dataset, flags.split).catch((err: unknown) => {
    throw ragError(`--dataset ${flags.dataset}`, err);
  });
  let tempDir: string | undefined;
  let store: Store | undefined;
  let embedder: Embedder | undefined;
  let reranker: CrossEncoder | undefined;
  try {
    if (flags.store === undefined) {
      tempDir = await mkdtemp(join(tmpdir(), 'forja-rag-eval-'));
      store = await openStore(join(tempDir, 'store.sqlite'));
      embedder = flags.embedModel === undefined ? undefined : await loadEmbedder(flags.embedModel);
      process.stderr.write(`forja: indexing ${join(flags.dataset, 'corpus.jsonl')}${embedder ? ` with ${embedder.modelId}` : ''}\n`);
      const chunkSize = embedder ? embedder.maxTokens - 2 : WHOLE_DOCUMENT;
      await ingest(store, join(flags.dataset, 'corpus.jsonl'), { ...(embedder && { embedder }), chunkSize, overlap: Math.min(32, Math.floor(chunkSize / 8)), batchSize: 512 }).catch((err: unknown) => {
        throw ragError('rag eval: ingest', err);
      });
    } else {
      store = await openStore(flags.store);
      embedder = await queryEmbedder(store, flags.embedModel, false);
    }
    reranker = flags.rerank === undefined ? undefined : await loadReranker(flags.rerank);
    const modes: EvalMode[] | undefined = flags.mode === 'all' ? undefined : [flags.mode];
    const report = await evaluate({
      store, dataset, k: flags.k, ...(modes && { modes }), ...(embedder && { embedder }), ...(reranker && { reranker }),
      onProgress: (p) => {
        if (process.stderr.isTTY && (p.done % 25 === 0 || p.done === p.total)) process.stderr.write(`\r${p.mode}: ${p.done}/${p.total} queries`);
      },
      onWarning: (w) => process.stderr.write(`forja: warning: query ${w.queryId}: ${w.message}\n`),
    }).catch((err: unknown) => {
      throw ragError('rag eval', err);
    });
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    if (flags.runFile !== undefined) {
      for (const m of report.modes) await writeTrecRun(runFileFor(flags.runFile, m.mode, report.modes.length > 1), m.run, `forja-${m.mode}`).catch((err: unknown) => {
        throw new CliError(`--run-file ${flags.runFile}: ${(err as Error).message}`, EXIT.failure);
      });
    }
    if (flags.json) {
      const modesJson = report.modes.map((m) => ({ mode: m.mode, metrics: m.metrics, latencyMs: m.latencyMs, identicalIdsRemoved: m.identicalIdsRemoved }));
      process.stdout.write(`${JSON.stringify({ dataset: report.dataset, split: report.split, queries: report.queries, queriesWithoutRelevant: report.queriesWithoutRelevant, k: report.k, modes: modesJson })}\n`);
    } else {
      process.stdout.write(`${report.dataset} (${report.split}, ${report.queries} queries)\n${table(report)}\n`);
    }
  } finally {
    await releaseAll(embedder, reranker, store);
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  }
}
