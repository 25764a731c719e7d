/**
 * Contrastive fine-tuning on SciFact (../shared/data/scifact, read in place): dense nDCG@10 on the
 * 300 test queries before and after training the embedder on the train qrels (809 queries, 920
 * (query, positive) pairs) with MultipleNegativesRankingLoss and in-batch negatives.
 *
 *   node --import tsx bench/contrastive-scifact.ts [--model DIR] [--epochs N] [--batch N]
 *     [--max-length N] [--lr X] [--warmup X] [--chunk-size N] [--symmetric] [--seed N]
 *
 * (a) ingests the corpus into a temp SQLite store with the base embedder, (b) evaluates dense
 * retrieval, (c) fine-tunes on the Trainer and saves the model in the sentence-transformers layout,
 * (d) reloads it from disk, re-ingests into a fresh store and evaluates again. The default model is
 * the tiny fixture bert-tiny-embed (2 layers, 32 wide, WordPiece vocabulary of 1,500), the only
 * embedder available offline: its absolute numbers are far below MiniLM's; the point is the move.
 *
 * Measured 2026-12-02 (2 busy cores, defaults: 20 epochs, batch 32, max length 128, lr 2e-3, warmup 0.1):
 * dense nDCG@10 0.0000 → 0.0040, Recall@100 0.0217 → 0.0733; 588 steps in 60 s (102 ms/step), the
 * train loss 3.51 → 0.04 (it memorises 919 pairs); each ingest 120-130 s; 5.7 min in all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSentenceEmbedder, type SentenceEmbedder } from '../src/models/bert/embedder.js';
import { ContrastiveTask, saveSentenceEmbedder } from '../src/models/bert/contrastive/index.js';
import { loadBeirPairs } from '../src/rag/eval/training-pairs.js';
import { evaluate } from '../src/rag/eval/evaluate.js';
import { ingest } from '../src/rag/ingest.js';
import { createStore } from '../src/rag/store/open.js';
import { Trainer } from '../src/train/trainer.js';

const here = new URL('.', import.meta.url).pathname;
const DATA = join(here, '../../shared/data/scifact');
const FIXTURE = join(here, '../../shared/fixtures/bert-tiny-embed');

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: FIXTURE },
    epochs: { type: 'string', default: '20' },
    batch: { type: 'string', default: '32' },
    'max-length': { type: 'string', default: '128' },
    lr: { type: 'string', default: '2e-3' },
    warmup: { type: 'string', default: '0.1' },
    'chunk-size': { type: 'string', default: '128' },
    seed: { type: 'string', default: '42' },
    symmetric: { type: 'boolean', default: false },
  },
});
const num = (flag: keyof typeof values): number => {
  const v = Number(values[flag]);
  if (!Number.isFinite(v)) throw new Error(`--${flag} must be a number, got '${values[flag]}'`);
  return v;
};

const seconds = (t0: number): number => (performance.now() - t0) / 1000;
const work = mkdtempSync(join(tmpdir(), 'forja-contrastive-scifact-'));

async function denseNdcg(embedder: SentenceEmbedder, name: string): Promise<{ ndcg: number; recall100: number; ingestS: number; evalS: number }> {
  const store = await createStore(join(work, `${name}.sqlite`));
  try {
    let t0 = performance.now();
    const chunkSize = Math.min(num('chunk-size'), embedder.maxTokens);
    await ingest(store, join(DATA, 'corpus.jsonl'), { embedder, chunkSize, overlap: Math.floor(chunkSize / 8) });
    const ingestS = seconds(t0);
    t0 = performance.now();
    const report = await evaluate({ store, dataset: DATA, split: 'test', modes: ['dense'], embedder });
    const m = report.modes[0]!.metrics;
    return { ndcg: m['NDCG@10']!, recall100: m['Recall@100']!, ingestS, evalS: seconds(t0) };
  } finally {
    await store.close();
  }
}

try {
  const started = performance.now();
  const base = await loadSentenceEmbedder(values.model!);
  const before = await denseNdcg(base, 'base');
  console.log(`base      dense nDCG@10 ${before.ndcg.toFixed(4)}  Recall@100 ${before.recall100.toFixed(4)}  (ingest ${before.ingestS.toFixed(1)} s, eval ${before.evalS.toFixed(1)} s)`);

  const data = await loadBeirPairs(DATA, { split: 'train' });
  const settings = {
    epochs: num('epochs'),
    batchSize: num('batch'),
    maxLength: Math.min(num('max-length'), base.maxTokens),
    learningRate: num('lr'),
    warmupRatio: num('warmup'),
    seed: num('seed'),
    symmetric: values.symmetric!,
  };
  const task = await ContrastiveTask.create(base, data, settings);
  let t0 = performance.now();
  await task.prepare();
  const compileS = seconds(t0);
  const losses: string[] = [];
  const trainer = new Trainer(task, { callbacks: [{ onEpochEnd: (epoch, logs) => void losses.push(`${epoch}:${logs.loss!.toFixed(3)}`) }] });
  t0 = performance.now();
  const outcome = await trainer.run();
  const trainS = seconds(t0);
  const out = join(work, 'fine-tuned');
  await saveSentenceEmbedder(base, out);
  await task.release();
  console.log(
    `fine-tune ${data.pairs.length} pairs of ${new Set(data.pairs.map((p) => p.queryId)).size} queries, ${JSON.stringify(settings)}: ` +
      `${outcome.stepsHere} steps in ${trainS.toFixed(1)} s (${(outcome.stepSeconds / outcome.stepsHere * 1000).toFixed(0)} ms/step, compile ${compileS.toFixed(1)} s); epoch losses ${losses.join(' ')}`,
  );

  const tuned = await loadSentenceEmbedder(out);
  const after = await denseNdcg(tuned, 'tuned');
  console.log(`fine-tuned dense nDCG@10 ${after.ndcg.toFixed(4)}  Recall@100 ${after.recall100.toFixed(4)}  (ingest ${after.ingestS.toFixed(1)} s, eval ${after.evalS.toFixed(1)} s)`);
  console.log(`change    nDCG@10 ${(after.ndcg - before.ndcg >= 0 ? '+' : '') + (after.ndcg - before.ndcg).toFixed(4)} (${before.ndcg > 0 ? `${((after.ndcg / before.ndcg - 1) * 100).toFixed(0)}%` : 'from 0'}); total ${seconds(started).toFixed(0)} s`);
  await tuned.release();
} finally {
  rmSync(work, { recursive: true, force: true });
}
