/**
 * Continuous batching on a GPT-2-small-shaped model (random, seeded weights written as a HF
 * checkpoint in a temp dir; gpt2-tiny's tokenizer, which has GPT-2's vocabulary, decodes): the
 * same greedy requests run by the engine at 1, 4 and 16 at once against one after another.
 * Reports aggregate tokens/s, per-token latency (p50/p95 of each sequence's inter-token gaps),
 * and where a step's time goes (the model's forward against the engine's own work).
 *
 *   npm run bench:batching -- [--threads N] [--new-tokens N] [--prompt N] [--streams 1,4,16] [--reps N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { Rng } from '../src/core/rng.js';
import { CausalLM } from '../src/models/causal-lm.js';
import { setThreads } from '../src/runtime/session.js';
import { createBatchEngine, type SequenceRequest, type SequenceResult } from '../src/text/batching/index.js';
import type { ForwardInput, LanguageModel } from '../src/text/language-model.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { positiveInt } from './args.js';
import { writeGpt2Small } from './gpt2-small.js';
import { median } from './stats.js';

interface Options {
  threads: number;
  newTokens: number;
  promptLength: number;
  streams: number[];
  reps: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { threads: availableParallelism(), newTokens: 32, promptLength: 16, streams: [1, 4, 16], reps: 2 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--threads') opts.threads = positiveInt(a, argv[++i]);
    else if (a === '--new-tokens') opts.newTokens = positiveInt(a, argv[++i]);
    else if (a === '--prompt') opts.promptLength = positiveInt(a, argv[++i]);
    else if (a === '--reps') opts.reps = positiveInt(a, argv[++i]);
    else if (a === '--streams') opts.streams = argv[++i]!.split(',').map((s) => positiveInt(a, s));
    else throw new Error(`unknown flag '${a}'`);
  }
  if (opts.streams[0] !== 1) opts.streams.unshift(1); // the baseline
  return opts;
}


/** Forward times by kind, so a step splits into the model's part and the engine's. */
class TimedModel implements LanguageModel {
  decodeMs: number[] = [];
  decodeRows: number[] = [];
  prefillMs = 0;
  cacheMs = 0;
  constructor(private readonly lm: CausalLM) {}
  get vocabSize(): number {
    return this.lm.vocabSize;
  }
  get maxPositions(): number {
    return this.lm.maxPositions;
  }
  async forward(input: ForwardInput) {
    const t0 = performance.now();
    const out = await this.lm.forward(input);
    const ms = performance.now() - t0;
    if (input.cache) {
      this.decodeMs.push(ms);
      this.decodeRows.push(input.batch);
    } else this.prefillMs += ms;
    return out;
  }
  private timed<T>(f: () => T): T {
    const t0 = performance.now();
    const r = f();
    this.cacheMs += performance.now() - t0;
    return r;
  }
  selectCache: LanguageModel['selectCache'] = (c, rows) => this.timed(() => this.lm.selectCache(c, rows));
  concatCaches: NonNullable<LanguageModel['concatCaches']> = (cs) => this.timed(() => this.lm.concatCaches(cs));
  trimCache: NonNullable<LanguageModel['trimCache']> = (c, s) => this.timed(() => this.lm.trimCache(c, s));
  reset(): void {
    this.decodeMs = [];
    this.decodeRows = [];
    this.prefillMs = 0;
    this.cacheMs = 0;
  }
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

interface Run {
  wallMs: number;
  tokens: number;
  gaps: number[];
  ttft: number[];
}

async function runAtOnce(engineModel: { lm: LanguageModel; decode: (ids: readonly number[]) => string }, requests: SequenceRequest[]): Promise<Run> {
  const engine = createBatchEngine({ gpt2: engineModel }, { maxBatch: requests.length });
  const t0 = performance.now();
  const results = await Promise.all(requests.map((r) => engine.submit(r).result));
  const wallMs = performance.now() - t0;
  await engine.close();
  return summarize(results, wallMs);
}

async function runOneByOne(engineModel: { lm: LanguageModel; decode: (ids: readonly number[]) => string }, requests: SequenceRequest[]): Promise<Run> {
  const engine = createBatchEngine({ gpt2: engineModel });
  const results: SequenceResult[] = [];
  const t0 = performance.now();
  for (const r of requests) results.push(await engine.submit(r).result);
  const wallMs = performance.now() - t0;
  await engine.close();
  return summarize(results, wallMs);
}

function summarize(results: SequenceResult[], wallMs: number): Run {
  return {
    wallMs,
    tokens: results.reduce((n, r) => n + r.completionTokens, 0),
    gaps: results.flatMap((r) => [...r.interTokenMs]),
    ttft: results.map((r) => r.timeToFirstTokenMs),
  };
}

/** Milliseconds spent in garbage collection (the cache tensors each step replaces are large). */
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

const fmt = (x: number, d = 1): string => x.toFixed(d);
const uptime = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  setThreads(opts.threads);
  const dir = mkdtempSync(join(tmpdir(), 'forja-bench-batching-'));
  try {
    await writeGpt2Small(dir);
    const t0 = performance.now();
    const lm = await CausalLM.load(dir);
    const tokenizer = await Tokenizer.fromDir(new URL('../../shared/fixtures/gpt2-tiny', import.meta.url).pathname);
    console.log(`compiled GPT-2 small in ${fmt((performance.now() - t0) / 1000)} s; threads ${opts.threads}; load ${uptime()}`);
    const timed = new TimedModel(lm);
    const model = { lm: timed, decode: (ids: readonly number[]) => tokenizer.decode([...ids]) };
    const rng = new Rng(7);
    const request = (): SequenceRequest => ({
      promptIds: Array.from({ length: opts.promptLength }, () => rng.int(lm.vocabSize)),
      maxNewTokens: opts.newTokens,
      sampling: { temperature: 0 },
    });
    await runAtOnce(model, [request()]); // warm-up
    // Every mode runs once per repetition, in turn, so load from other processes hits them alike.
    const modes = opts.streams.flatMap((streams) => (streams === 1 ? [{ streams, batched: true }] : [{ streams, batched: true }, { streams, batched: false }]));
    const rows = modes.map(() => ({ rates: [] as number[], ratios: [] as number[], gaps: [] as number[], ttft: [] as number[], forward: [] as number[], engine: [] as number[], gc: [] as number[] }));
    for (let rep = 0; rep < opts.reps; rep++) {
      let single = NaN;
      for (const [m, mode] of modes.entries()) {
        const requests = Array.from({ length: mode.streams }, request);
        timed.reset();
        gcMs = 0;
        const run = mode.batched ? await runAtOnce(model, requests) : await runOneByOne(model, requests);
        const rate = run.tokens / (run.wallMs / 1000);
        if (mode.streams === 1) single = rate;
        const steps = Math.max(1, timed.decodeMs.length);
        const forwardMs = timed.decodeMs.reduce((a, b) => a + b, 0);
        const row = rows[m]!;
        row.rates.push(rate);
        row.ratios.push(rate / single);
        row.gaps.push(...run.gaps);
        row.ttft.push(...run.ttft);
        row.forward.push(forwardMs / steps);
        // Besides decode forwards, prefills and cache copies: token choice, feeds, events, yields, and the GC pauses outside forwards.
        row.engine.push((run.wallMs - forwardMs - timed.prefillMs - timed.cacheMs) / steps);
        row.gc.push(gcMs / steps);
      }
      console.log(`repetition ${rep + 1} of ${opts.reps} done; load ${uptime()}`);
    }
    console.log(`\n${opts.promptLength}-token prompts, ${opts.newTokens} new tokens each, greedy; medians over ${opts.reps} repetitions (latencies pooled)`);
    console.log('\n| streams | mode | aggregate tok/s | vs 1 stream | inter-token p50 / p95 ms | TTFT p50 ms | decode forward ms/step | GC ms/step (in or out of forwards) | engine ms/step |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const [m, mode] of modes.entries()) {
      const r = rows[m]!;
      console.log(
        `| ${mode.streams} | ${mode.batched ? 'batched' : 'one by one'} | ${fmt(median(r.rates))} | ${fmt(median(r.ratios), 2)}× | ${fmt(percentile(r.gaps, 0.5))} / ${fmt(percentile(r.gaps, 0.95))} | ` +
          `${fmt(median(r.ttft))} | ${fmt(median(r.forward))} | ${fmt(median(r.gc))} | ${fmt(median(r.engine), 2)} |`,
      );
    }
    console.log(`\nload after: ${uptime()}`);
    await lm.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
