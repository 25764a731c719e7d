/**
 * Decode and prefill speed of a GPT-2-small-shaped model (random, seeded
 * weights written as a HF checkpoint in a temp dir): Forja against
 * transformers.js running Forja's ONNX export, with the memory-bandwidth bound.
 *
 *   npm run bench:generate -- [--threads N] [--reps N] [--new-tokens N] [--prefill N] [--skip-transformers-js]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Rng } from '../src/core/rng.js';
import { writeJsonAtomic } from '../src/io/atomic.js';
import { writeSafetensorsCheckpoint } from '../src/io/safetensors.js';
import { CausalLM } from '../src/models/causal-lm.js';
import { exportOnnx } from '../src/models/export-onnx.js';
import { gpt2InitialWeights, gpt2Tensors, parseGpt2Config } from '../src/models/gpt2/model.js';
import { setThreads } from '../src/runtime/session.js';
import type { KVCache } from '../src/text/language-model.js';

interface Options {
  threads: number;
  reps: number;
  newTokens: number;
  promptLength: number;
  prefillLength: number;
  transformersJs: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { threads: availableParallelism(), reps: 5, newTokens: 64, promptLength: 8, prefillLength: 128, transformersJs: true };
  const int = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--threads') opts.threads = int(a, argv[++i]);
    else if (a === '--reps') opts.reps = int(a, argv[++i]);
    else if (a === '--new-tokens') opts.newTokens = int(a, argv[++i]);
    else if (a === '--prefill') opts.prefillLength = int(a, argv[++i]);
    else if (a === '--skip-transformers-js') opts.transformersJs = false;
    else throw new Error(`unknown flag '${a}'`);
  }
  return opts;
}

// --- the checkpoint ------------------------------------------------------------------

const GPT2_SMALL = {
  architectures: ['GPT2LMHeadModel'],
  model_type: 'gpt2',
  vocab_size: 50257,
  n_positions: 1024,
  n_embd: 768,
  n_layer: 12,
  n_head: 12,
  n_inner: null,
  activation_function: 'gelu_new',
  layer_norm_epsilon: 1e-5,
  tie_word_embeddings: true,
  initializer_range: 0.02,
  // No end-of-text token, so both runtimes always generate the full count.
  bos_token_id: null,
  eos_token_id: null,
};

async function writeCheckpoint(dir: string): Promise<number> {
  const weights = gpt2InitialWeights(parseGpt2Config(GPT2_SMALL), new Rng(1234));
  await writeSafetensorsCheckpoint(dir, weights);
  await writeJsonAtomic(join(dir, 'config.json'), GPT2_SMALL);
  await writeJsonAtomic(join(dir, 'generation_config.json'), {});
  return [...weights.values()].reduce((n, t) => n + t.data.length, 0);
}

/** Weight bytes one decode step reads: everything once (the tied wte as the LM head), but one row of wpe. */
function bytesPerDecodedToken(): number {
  let elements = 0;
  for (const { name, shape } of gpt2Tensors(parseGpt2Config(GPT2_SMALL))) {
    elements += name.endsWith('wpe.weight') ? shape[1]! : shape.reduce((a, b) => a * b, 1);
  }
  return 4 * elements;
}

// --- memory bandwidth ------------------------------------------------------------------

/**
 * Read bandwidth: `threads` workers each compare two equal 256 MiB buffers
 * (memcmp reads both in full, with the C library's SIMD loop); best of 5 passes.
 */
async function measureBandwidth(threads: number): Promise<number> {
  const source = `
    const { parentPort } = require('node:worker_threads');
    const a = Buffer.alloc(256 * 1024 * 1024, 1);
    const b = Buffer.alloc(256 * 1024 * 1024, 1);
    parentPort.on('message', () => parentPort.postMessage(Buffer.compare(a, b)));
    parentPort.postMessage('ready');`;
  const workers = Array.from({ length: threads }, () => new Worker(source, { eval: true }));
  const next = (w: Worker) => new Promise<unknown>((resolve) => w.once('message', resolve));
  await Promise.all(workers.map(next));
  let best = 0;
  for (let pass = 0; pass < 6; pass++) {
    const t0 = performance.now();
    await Promise.all(
      workers.map((w) => {
        const done = next(w);
        w.postMessage('go');
        return done;
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    if (pass > 0) best = Math.max(best, (threads * 2 * 256 * 2 ** 20) / seconds);
  }
  await Promise.all(workers.map((w) => w.terminate()));
  return best;
}

// --- runs ------------------------------------------------------------------------------

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function promptIds(length: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length }, () => rng.int(50000));
}

interface DecodeRun {
  tokens: number[];
  /** Milliseconds between consecutive generated tokens (the first comes from the prefill). */
  stepMs: number[];
}

/** Intervals between consecutive timestamps. */
const intervals = (stamps: number[]): number[] => stamps.slice(1).map((t, i) => t - stamps[i]!);

function argmax(xs: Float32Array): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

async function forjaGreedy(lm: CausalLM, prompt: number[], newTokens: number): Promise<DecodeRun> {
  const tokens: number[] = [];
  const stamps: number[] = [];
  let cache: KVCache | undefined;
  let ids = prompt;
  for (let step = 0; step < newTokens; step++) {
    const past = cache?.length ?? 0;
    const res = await lm.forward({
      ids: BigInt64Array.from(ids, BigInt),
      batch: 1,
      attentionMask: new BigInt64Array(past + ids.length).fill(1n),
      positionIds: BigInt64Array.from(ids, (_, i) => BigInt(past + i)),
      ...(cache ? { cache } : {}),
    });
    cache = res.cache;
    tokens.push(argmax(res.logits));
    ids = [tokens.at(-1)!];
    stamps.push(performance.now());
  }
  return { tokens, stepMs: intervals(stamps) };
}

async function forjaPrefill(lm: CausalLM, prompt: number[]): Promise<number> {
  const t0 = performance.now();
  await lm.forward({
    ids: BigInt64Array.from(prompt, BigInt),
    batch: 1,
    attentionMask: new BigInt64Array(prompt.length).fill(1n),
    positionIds: BigInt64Array.from(prompt, (_, i) => BigInt(i)),
  });
  return (performance.now() - t0) / 1000;
}

interface Runner {
  name: string;
  decode(prompt: number[], newTokens: number): Promise<DecodeRun>;
  prefill(prompt: number[]): Promise<number>;
  release(): Promise<void>;
}

async function forjaRunner(dir: string, threads: number): Promise<Runner> {
  setThreads(threads);
  const lm = await CausalLM.load(dir);
  return {
    name: 'Forja',
    decode: (prompt, n) => forjaGreedy(lm, prompt, n),
    prefill: (prompt) => forjaPrefill(lm, prompt),
    release: () => lm.release(),
  };
}

async function transformersJsRunner(exportDir: string, threads: number): Promise<Runner> {
  const { AutoModelForCausalLM, env, Tensor } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  const model = await AutoModelForCausalLM.from_pretrained(exportDir, {
    dtype: 'fp32',
    local_files_only: true,
    session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
  });
  const generate = async (prompt: number[], newTokens: number, onToken?: () => void) => {
    const input_ids = new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]);
    const attention_mask = new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]);
    let puts = 0;
    // The first put is the prompt; each later one is a generated token.
    const streamer = {
      put: () => {
        if (puts++ > 0) onToken?.();
      },
      end: () => undefined,
    };
    const out = await model.generate({ input_ids, attention_mask, max_new_tokens: newTokens, min_new_tokens: newTokens, do_sample: false, streamer: streamer as never });
    return Array.from((out as InstanceType<typeof Tensor>).data as BigInt64Array, Number).slice(prompt.length);
  };
  return {
    name: 'transformers.js',
    decode: async (prompt, n) => {
      const stamps: number[] = [];
      const tokens = await generate(prompt, n, () => stamps.push(performance.now()));
      return { tokens, stepMs: intervals(stamps) };
    },
    prefill: async (prompt) => {
      const t0 = performance.now();
      await generate(prompt, 1);
      return (performance.now() - t0) / 1000;
    },
    release: async () => {
      await model.dispose();
    },
  };
}

interface Result {
  name: string;
  /** From the median decode step. */
  decodeTokensPerSecond: number;
  /** From the fastest decode step (what a quiet machine gives). */
  bestDecodeTokensPerSecond: number;
  prefillTokensPerSecond: number;
  tokens: number[];
}

/** Runs the runtimes in turn within each repetition, so load from other processes hits them alike. */
async function measure(runners: Runner[], opts: Options): Promise<Result[]> {
  const prompt = promptIds(opts.promptLength, 7);
  const long = promptIds(opts.prefillLength, 8);
  const steps = runners.map((): number[] => []);
  const prefills = runners.map((): number[] => []);
  const tokens = runners.map((): number[] => []);
  for (const r of runners) {
    await r.decode(prompt, 4); // warm-up
    await r.prefill(long);
  }
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const [i, r] of runners.entries()) {
      const run = await r.decode(prompt, opts.newTokens);
      steps[i]!.push(...run.stepMs);
      if (process.env.BENCH_VERBOSE) console.log(`${r.name} rep ${rep}: median step ${median(run.stepMs).toFixed(1)} ms, best ${Math.min(...run.stepMs).toFixed(1)} ms`);
      tokens[i] = run.tokens;
      prefills[i]!.push(await r.prefill(long));
    }
  }
  return runners.map((r, i) => ({
    name: r.name,
    decodeTokensPerSecond: 1000 / median(steps[i]!),
    bestDecodeTokensPerSecond: 1000 / Math.min(...steps[i]!),
    prefillTokensPerSecond: opts.prefillLength / median(prefills[i]!),
    tokens: tokens[i]!,
  }));
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'forja-bench-gpt2-'));
  try {
    const t0 = performance.now();
    const params = await writeCheckpoint(dir);
    console.log(`checkpoint: GPT-2-small shape, ${(params / 1e6).toFixed(1)}M parameters, written in ${((performance.now() - t0) / 1000).toFixed(1)} s to ${dir}`);
    const bandwidth = await measureBandwidth(opts.threads);
    const bytesPerToken = bytesPerDecodedToken();
    const bound = bandwidth / bytesPerToken;
    console.log(`threads: ${opts.threads} intra-op (both runtimes), reps: ${opts.reps}, decode: ${opts.newTokens} new tokens after ${opts.promptLength}, prefill: ${opts.prefillLength} tokens`);
    console.log(`memory bandwidth: ${(bandwidth / 1e9).toFixed(1)} GB/s read (memcmp of 2 × 256 MiB per thread, ${opts.threads} threads, best of 5)`);
    console.log(`weights read per decoded token: ${(bytesPerToken / 1e6).toFixed(1)} MB → bound ${bound.toFixed(1)} tokens/s`);

    const runners = [await forjaRunner(dir, opts.threads)];
    if (opts.transformersJs) {
      const exportDir = join(dir, 'export');
      await exportOnnx(dir, exportDir);
      runners.push(await transformersJsRunner(exportDir, opts.threads));
    }
    const loadBefore = loadavg()[0]!;
    const results = await measure(runners, opts);
    for (const r of runners) await r.release();
    printTable(results, bound);
    const loadAfter = loadavg()[0]!;
    console.log(`load average (1 min) before/after the runs: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)} on ${availableParallelism()} CPUs`);
    if (Math.max(loadBefore, loadAfter) > availableParallelism() - opts.threads + 1) {
      console.log('note: other processes were using the CPUs; median steps suffer most, best steps show what a quiet machine gives');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(results: Result[], bound: number): void {
  const reference = results.find((r) => r.name === 'transformers.js');
  const ratio = (x: number, y: number | undefined) => (y ? `${(x / y).toFixed(2)}×` : '-');
  const rows = results.map((r) => [
    r.name,
    r.decodeTokensPerSecond.toFixed(1),
    `${((100 * r.decodeTokensPerSecond) / bound).toFixed(0)}%`,
    ratio(r.decodeTokensPerSecond, reference?.decodeTokensPerSecond),
    r.bestDecodeTokensPerSecond.toFixed(1),
    `${((100 * r.bestDecodeTokensPerSecond) / bound).toFixed(0)}%`,
    r.prefillTokensPerSecond.toFixed(0),
    ratio(r.prefillTokensPerSecond, reference?.prefillTokensPerSecond),
  ]);
  const header = ['runtime', 'decode tok/s (median step)', 'of bound', 'vs tjs', 'best step tok/s', 'of bound', 'prefill tok/s', 'vs tjs'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}`);
  for (const r of rows) console.log(line(r));
  if (reference) {
    const forja = results[0]!;
    const same = forja.tokens.length === reference.tokens.length && forja.tokens.every((t, i) => t === reference.tokens[i]);
    console.log(`\ngreedy tokens identical: ${same ? 'yes' : `no (Forja ${forja.tokens.slice(0, 8).join(',')}… vs ${reference.tokens.slice(0, 8).join(',')}…)`}`);
  }
}

await main();
