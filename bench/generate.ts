/**
 * Decode and prefill speed of a GPT-2-small-shaped model (random, seeded
 * weights written as a HF checkpoint in a temp dir), in fp32 and with int8
 * and int4 weights (`forja quantize` defaults, loaded from the quantized
 * checkpoints): Forja against transformers.js running Forja's own ONNX export
 * of the same weights (dtype fp32 / q8 / q4), with the memory-bandwidth
 * bound. Peak RSS: each variant loads alone in its own process
 * (bench/generate-variant.ts). Speed: all variants loaded in this process
 * and run in turn within each repetition (reps × rounds of them, the order
 * rotating), so load from other processes hits them alike.
 *
 *   npm run bench:generate -- [--threads N] [--reps N] [--rounds N] [--new-tokens N] [--prefill N] [--skip-transformers-js] [--only fp32,q8,q4]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { exportOnnx } from '../src/models/export-onnx.js';
import { gpt2Tensors, parseGpt2Config } from '../src/models/gpt2/model.js';
import { quantizeCheckpoint } from '../src/models/quantize/index.js';
import { setThreads } from '../src/runtime/session.js';
import { loadRunner, promptIds, type Dtype, type Runner, type VariantResult, type VariantSpec } from './generate-variant.js';
import { median } from './stats.js';
import { positiveInt } from './args.js';
import { gpt2SmallConfig, writeGpt2Small } from './gpt2-small.js';

interface Options {
  threads: number;
  reps: number;
  newTokens: number;
  promptLength: number;
  prefillLength: number;
  transformersJs: boolean;
  rounds: number;
  dtypes: Dtype[];
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { threads: availableParallelism(), reps: 5, newTokens: 64, promptLength: 8, prefillLength: 128, transformersJs: true, rounds: 1, dtypes: ['fp32', 'q8', 'q4'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--threads') opts.threads = positiveInt(a, argv[++i]);
    else if (a === '--reps') opts.reps = positiveInt(a, argv[++i]);
    else if (a === '--new-tokens') opts.newTokens = positiveInt(a, argv[++i]);
    else if (a === '--prefill') opts.prefillLength = positiveInt(a, argv[++i]);
    else if (a === '--skip-transformers-js') opts.transformersJs = false;
    else if (a === '--rounds') opts.rounds = positiveInt(a, argv[++i]);
    else if (a === '--only') opts.dtypes = argv[++i]!.split(',') as Dtype[];
    else throw new Error(`unknown flag '${a}'`);
  }
  return opts;
}

// --- the checkpoint ------------------------------------------------------------------


/** Weight bytes one decode step reads: everything once (the tied wte as the LM head), but one row of wpe. */
function bytesPerDecodedToken(): number {
  let elements = 0;
  for (const { name, shape } of gpt2Tensors(parseGpt2Config(gpt2SmallConfig()))) {
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

const run = promisify(execFile);
const VARIANT = join(import.meta.dirname, 'generate-variant.ts');

/** Peak RSS and load time of one variant, loaded alone in a child process (which also decodes a few tokens). */
async function memoryOf(spec: VariantSpec): Promise<VariantResult> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', VARIANT, JSON.stringify({ ...spec, reps: 1, newTokens: 8 })], { maxBuffer: 64 * 2 ** 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as VariantResult;
}

interface Row {
  name: string;
  dtype: Dtype;
  runtime: VariantResult['runtime'];
  decode: number;
  best: number;
  prefill: number;
  maxRss: number;
  loadSeconds: number;
  tokens: number[];
  bytesPerToken?: number;
}

const QUANTIZE = { q8: { bits: 8 }, q4: { bits: 4 } } as const;
const LABEL: Record<Dtype, string> = { fp32: 'fp32', q8: 'int8', q4: 'int4' };
const uptime = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'forja-bench-gpt2-'));
  try {
    const t0 = performance.now();
    const params = await writeGpt2Small(dir);
    console.log(`checkpoint: GPT-2-small shape, ${(params / 1e6).toFixed(1)}M parameters, written in ${((performance.now() - t0) / 1000).toFixed(1)} s to ${dir}`);
    // Forja loads each dtype's own checkpoint, as a user would after `forja quantize`; transformers.js gets the export of that same checkpoint.
    const specs: VariantSpec[] = [];
    const base = { threads: opts.threads, reps: opts.reps, newTokens: opts.newTokens, promptLength: opts.promptLength, prefillLength: opts.prefillLength };
    for (const dtype of opts.dtypes) {
      const ckpt = dtype === 'fp32' ? dir : join(dir, dtype);
      if (dtype !== 'fp32') await quantizeCheckpoint(dir, ckpt, QUANTIZE[dtype]);
      specs.push({ ...base, runtime: 'forja', dtype, dir: ckpt });
      if (opts.transformersJs) {
        await exportOnnx(ckpt, join(dir, `export-${dtype}`));
        specs.push({ ...base, runtime: 'transformers.js', dtype, dir: join(dir, `export-${dtype}`) });
      }
    }
    // Measured again before the timed runs, and the better kept: a busy moment only lowers it.
    let bandwidth = await measureBandwidth(opts.threads);
    const bytesPerToken = bytesPerDecodedToken();
    console.log(`threads: ${opts.threads} intra-op (both runtimes), reps: ${opts.reps} × ${opts.rounds} rounds, decode: ${opts.newTokens} new tokens after ${opts.promptLength}, prefill: ${opts.prefillLength} tokens`);
    console.log(`memory bandwidth: ${(bandwidth / 1e9).toFixed(1)} GB/s read (memcmp of 2 × 256 MiB per thread, ${opts.threads} threads, best of 5)`);
    console.log(`fp32 weights read per decoded token: ${(bytesPerToken / 1e6).toFixed(1)} MB → bound ${(bandwidth / bytesPerToken).toFixed(1)} tokens/s`);

    // Memory: each variant alone in its own process, so its peak RSS is its own.
    const memory: VariantResult[] = [];
    for (const spec of specs) {
      memory.push(await memoryOf(spec));
      if (process.env.BENCH_VERBOSE) console.log(`${spec.runtime} ${spec.dtype}: peak RSS ${(memory.at(-1)!.maxRss / 2 ** 20).toFixed(0)} MiB, load ${memory.at(-1)!.loadSeconds.toFixed(1)} s (load avg ${uptime()})`);
    }

    // Speed: every variant loaded here and run in turn within each repetition (the order rotating), so load from other processes hits them alike.
    setThreads(opts.threads);
    const runners: Runner[] = [];
    for (const spec of specs) runners.push(await loadRunner(spec));
    const prompt = promptIds(opts.promptLength, 7);
    const long = promptIds(opts.prefillLength, 8);
    for (const r of runners) {
      await r.decode(prompt, 4); // warm-up
      await r.prefill(long);
    }
    bandwidth = Math.max(bandwidth, await measureBandwidth(opts.threads));
    console.log(`memory bandwidth before the timed runs: ${(bandwidth / 1e9).toFixed(1)} GB/s (the better of two measurements) → fp32 bound ${(bandwidth / bytesPerToken).toFixed(1)} tokens/s`);
    const loadBefore = uptime();
    const steps = specs.map((): number[] => []);
    const prefills = specs.map((): number[] => []);
    const tokens = specs.map((): number[] => []);
    const reps = opts.reps * opts.rounds;
    for (let rep = 0; rep < reps; rep++) {
      for (let j = 0; j < runners.length; j++) {
        const i = (j + rep) % runners.length;
        const d = await runners[i]!.decode(prompt, opts.newTokens);
        steps[i]!.push(...d.stepMs);
        tokens[i] = d.tokens;
        prefills[i]!.push(await runners[i]!.prefill(long));
        if (process.env.BENCH_VERBOSE) console.log(`rep ${rep} ${specs[i]!.runtime} ${specs[i]!.dtype}: median step ${median(d.stepMs).toFixed(1)} ms (load avg ${uptime()})`);
      }
    }
    const loadAfter = uptime();
    for (const r of runners) await r.release();
    const rows: Row[] = specs.map((spec, i) => ({
      name: `${spec.runtime === 'forja' ? 'Forja' : 'transformers.js'} ${LABEL[spec.dtype]}`,
      dtype: spec.dtype,
      runtime: spec.runtime,
      decode: 1000 / median(steps[i]!),
      best: 1000 / Math.min(...steps[i]!),
      prefill: opts.prefillLength / median(prefills[i]!),
      maxRss: memory[i]!.maxRss,
      loadSeconds: memory[i]!.loadSeconds,
      tokens: tokens[i]!,
      ...(runners[i]!.bytesPerToken !== undefined ? { bytesPerToken: runners[i]!.bytesPerToken } : {}),
    }));
    printTable(rows, bandwidth);
    console.log(`load average (1, 5, 15 min) before/after the timed runs: ${loadBefore} / ${loadAfter} on ${availableParallelism()} CPUs`);
    if (Math.max(loadavg()[0]!, Number(loadBefore.split(' ')[0])) > availableParallelism() - opts.threads + 1) {
      console.log('note: other processes were using the CPUs; median steps suffer most, best steps show what a quiet machine gives');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(rows: Row[], bandwidth: number): void {
  const find = (runtime: Row['runtime'], dtype: Dtype) => rows.find((r) => r.runtime === runtime && r.dtype === dtype);
  const ratio = (x: number, y: number | undefined) => (y ? `${(x / y).toFixed(2)}×` : '-');
  const forjaFp32 = find('forja', 'fp32');
  const cells = rows.map((r) => {
    const tjs = find('transformers.js', r.dtype);
    const forja = find('forja', r.dtype);
    const bound = forja?.bytesPerToken ? bandwidth / forja.bytesPerToken : undefined;
    return [
      r.name,
      r.decode.toFixed(1),
      bound ? `${((100 * r.decode) / bound).toFixed(0)}%` : '-',
      ratio(r.decode, forjaFp32?.decode),
      r.runtime === 'forja' ? ratio(r.decode, tjs?.decode) : '-',
      r.best.toFixed(1),
      r.prefill.toFixed(0),
      r.runtime === 'forja' ? ratio(r.prefill, tjs?.prefill) : '-',
      (r.maxRss / 2 ** 20).toFixed(0),
      ratio(r.maxRss, rows.find((x) => x.runtime === r.runtime && x.dtype === 'fp32')?.maxRss),
      r.loadSeconds.toFixed(1),
    ];
  });
  const header = ['runtime', 'decode tok/s (median step)', 'of bound', 'vs Forja fp32', 'vs tjs same dtype', 'best step tok/s', 'prefill tok/s', 'vs tjs', 'peak RSS MiB', 'vs own fp32', 'load s'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join(' | ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}`);
  for (const c of cells) console.log(line(c));
  console.log('');
  for (const r of rows.filter((x) => x.runtime === 'forja')) {
    const tjs = find('transformers.js', r.dtype);
    const bound = r.bytesPerToken ? ` (${(r.bytesPerToken / 1e6).toFixed(1)} MB read per token)` : '';
    const same = tjs ? (tjs.tokens.length === r.tokens.length && tjs.tokens.every((t, i) => t === r.tokens[i]) ? 'identical' : `differ (Forja ${r.tokens.slice(0, 6).join(',')}… vs ${tjs.tokens.slice(0, 6).join(',')}…)`) : '-';
    console.log(`${LABEL[r.dtype]}${bound}: greedy tokens Forja vs transformers.js ${same}`);
  }
}

await main();
