/**
 * Sentence-embedding throughput of a MiniLM-shaped BERT (6 layers, 384 wide, 12 heads,
 * intermediate 1536, random seeded weights, mean pooling + Normalize, max 256 tokens):
 * Forja's SentenceEmbedder against transformers.js's feature-extraction pipeline running
 * Forja's ONNX graph of the same encoder (input_ids, attention_mask, token_type_ids →
 * last_hidden_state), both on onnxruntime-node with the same intra-op threads, on SciFact
 * queries and passages (../shared/data/scifact, read in place). Both use bert-tiny-embed's
 * WordPiece tokenizer, so token counts are equal (and higher than a 30k vocabulary gives).
 *
 *   npm run bench:embed -- [--threads N] [--reps N] [--queries N] [--passages N] [--batch N]
 *
 * transformers.js pads each call to its longest input; a user calls it on chunks in input
 * order, which is the main row. The "sorted" row hands it Forja's length-sorted chunks, so the
 * difference between the two rows is what batching by length buys and the rest is the runtime.
 * "Forja, fused kernels" runs the encoder with ONNX Runtime's com.microsoft Attention and
 * SkipLayerNormalization (loadSentenceEmbedder's `fused`); transformers.js keeps the standard graph.
 * On inputs longer than the limit the vectors differ (~1e-3): transformers.js 4.3's truncation
 * drops the final [SEP], which Python's tokenizers (and Forja) keep.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadSentenceEmbedder, type SentenceEmbedder } from '../src/models/bert/embedder.js';
import { lengthBatches } from '../src/models/bert/encoding.js';
import { setThreads } from '../src/runtime/session.js';
import { MINILM_MAX_TOKENS, writeRandomMiniLm } from './random-minilm.js';
import { maxAbsDiff, median } from './stats.js';
import { parseIntFlags } from './args.js';

interface Options {
  threads: number;
  reps: number;
  queries: number;
  passages: number;
  batch: number;
}

function parseArgs(argv: string[]): Options {
  const defaults: Options = { threads: Math.min(2, availableParallelism()), reps: 3, queries: 300, passages: 128, batch: 32 };
  return parseIntFlags(argv, defaults, { '--threads': 'threads', '--reps': 'reps', '--queries': 'queries', '--passages': 'passages', '--batch': 'batch' });
}

const SHARED = fileURLToPath(new URL('../../shared/', import.meta.url));
function readJsonl(path: string, n: number, text: (row: Record<string, string>) => string): string[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).slice(0, n);
  return lines.map((l) => text(JSON.parse(l) as Record<string, string>));
}

type Embed = (texts: string[]) => Promise<Float32Array[]>;

interface Runner {
  name: string;
  embed: Embed;
  release(): Promise<void>;
}

function forjaRunner(embedder: SentenceEmbedder, name = 'Forja'): Runner {
  return { name, embed: (texts) => embedder.embed(texts), release: () => embedder.release() };
}

async function transformersJsRunner(dir: string, threads: number, order: (texts: string[]) => number[][], name: string): Promise<Runner> {
  const { pipeline, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  const extractor = await pipeline('feature-extraction', dir, {
    dtype: 'fp32',
    local_files_only: true,
    session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
  });
  const embed: Embed = async (texts) => {
    const out = new Array<Float32Array>(texts.length);
    for (const rows of order(texts)) {
      const result = await extractor(rows.map((i) => texts[i]!), { pooling: 'mean', normalize: true });
      const data = result.data as Float32Array;
      const d = data.length / rows.length;
      rows.forEach((i, r) => (out[i] = data.slice(r * d, (r + 1) * d)));
    }
    return out;
  };
  return { name, embed, release: () => extractor.dispose() };
}

/** Chunks of `batch` in input order, as a user would call a pipeline. */
const inOrder = (batch: number) => (texts: string[]) => Array.from({ length: Math.ceil(texts.length / batch) }, (_, b) => Array.from({ length: Math.min(batch, texts.length - b * batch) }, (_, i) => b * batch + i));

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'forja-bench-embed-'));
  try {
    const params = await writeRandomMiniLm(dir, { onnx: true });
    setThreads(opts.threads);
    const embedder = await loadSentenceEmbedder(dir, { batchSize: opts.batch });
    const scifact = join(SHARED, 'data', 'scifact');
    const workloads = {
      queries: readJsonl(join(scifact, 'queries.jsonl'), opts.queries, (r) => r.text!),
      passages: readJsonl(join(scifact, 'corpus.jsonl'), opts.passages, (r) => `${r.title}. ${r.text}`),
    };
    // Computed once per workload, outside the timed runs.
    const orders = new Map<string[], number[][]>();
    const sorted = (texts: string[]) => orders.get(texts) ?? lengthBatches(texts.map((t) => embedder.tokenize(t).ids.length), { batchSize: opts.batch, maxBatchTokens: Infinity });
    const runners = [
      forjaRunner(embedder),
      forjaRunner(await loadSentenceEmbedder(dir, { batchSize: opts.batch, fused: true }), 'Forja, fused kernels'),
      await transformersJsRunner(dir, opts.threads, inOrder(opts.batch), 'transformers.js'),
      await transformersJsRunner(dir, opts.threads, sorted, 'transformers.js, sorted'),
    ];
    // transformers.js in input order: the row every ratio is against.
    const TJS = 2;
    console.log(`model: MiniLM shape (6 × 384, 12 heads, 1536), ${(params / 1e6).toFixed(1)}M random parameters, mean pooling + Normalize, max ${MINILM_MAX_TOKENS} tokens`);
    console.log(`threads: ${opts.threads} intra-op (both runtimes), batch ${opts.batch}, reps ${opts.reps} (median), load average before: ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} CPUs`);
    const table: string[][] = [];
    for (const [name, texts] of Object.entries(workloads)) {
      const tokens = texts.map((t) => embedder.tokenize(t).ids.length);
      orders.set(texts, sorted(texts));
      const total = tokens.reduce((a, b) => a + b, 0);
      console.log(`${name}: ${texts.length} texts, ${total} tokens (mean ${(total / texts.length).toFixed(1)}, ${tokens.filter((n) => n === MINILM_MAX_TOKENS).length} cut at ${MINILM_MAX_TOKENS})`);
      const results: Float32Array[][] = [];
      const seconds: number[][] = runners.map(() => []);
      for (const r of runners) results.push(await r.embed(texts.slice(0, opts.batch))); // warm-up
      for (let rep = 0; rep < opts.reps; rep++) {
        // Alternate runtimes so that load from other processes falls on all of them alike.
        for (const [i, r] of runners.entries()) {
          // ORT's intra-op threads spin for a while after a run; let the previous runtime's go idle.
          await new Promise((resolve) => setTimeout(resolve, 300));
          const t0 = performance.now();
          results[i] = await r.embed(texts);
          seconds[i]!.push((performance.now() - t0) / 1000);
        }
      }
      const rate = seconds.map((s) => texts.length / median(s));
      const best = seconds.map((s) => texts.length / Math.min(...s));
      runners.forEach((r, i) =>
        table.push([name, r.name, rate[i]!.toFixed(1), `${(rate[i]! / rate[TJS]!).toFixed(2)}×`, best[i]!.toFixed(1), `${(best[i]! / best[TJS]!).toFixed(2)}×`, maxAbsDiff(results[i]!, results[0]!).toExponential(1)]),
      );
    }
    const header = ['texts', 'runtime', 'sentences/s (median)', 'vs tjs', 'best run', 'vs tjs', 'max |diff| vs Forja'];
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
    console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}`);
    for (const r of table) console.log(line(r));
    console.log(`\nload average after: ${loadavg()[0]!.toFixed(2)}`);
    for (const r of runners) await r.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
