/**
 * `forja serve` under load: a GPT-2-small-shaped model (random, seeded weights written as a HF checkpoint in a
 * temp dir, with GPT-2's tokenizer from the fixtures) served by `forja serve` in a child process, and a load
 * generator of our own in this process: the official `openai` client, streaming chat completions. For each
 * concurrency it runs that many streams at once (aggregate tokens/s, p50/p95 time to first token and
 * inter-token latency), and the same requests one after another (capped at --sequential-max of them: one
 * after another, every request runs alone, so more of them only repeat the same number). EOS is banned with
 * logit_bias, so every request generates --tokens tokens.
 *
 *   npm run bench:serve -- [--concurrency 1,4,16,64] [--tokens N] [--sequential-max N] [--max-batch N] [--soak-minutes N] [--soak-streams N] [--tiny] [--profile DIR]
 *
 * --soak-minutes N: after the table (or instead, with --concurrency none), N minutes of --soak-streams
 * streams back to back, the server's RSS sampled every 5 s, errors counted (any error: exit code 1). --tiny serves
 * the gpt2-tiny fixture instead: CI's short load test.
 * --profile DIR writes the server's V8 CPU profile there when it stops (open it in Chrome DevTools).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { writeJsonAtomic } from '../src/io/atomic.js';
import { positiveInt } from './args.js';
import { writeGpt2Small } from './gpt2-small.js';

interface Options {
  concurrency: number[];
  tokens: number;
  sequentialMax: number;
  maxBatch: number;
  soakMinutes: number;
  soakStreams: number;
  /** gpt2-tiny (the fixture) instead of the GPT-2-small shape: CI's short load test. */
  tiny: boolean;
  /** Write the server's V8 CPU profile (--cpu-prof) into this directory. */
  profileDir?: string;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { concurrency: [1, 4, 16, 64], tokens: 32, sequentialMax: 8, maxBatch: 64, soakMinutes: 0, soakStreams: 16, tiny: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--concurrency') opts.concurrency = argv[++i] === 'none' ? [] : argv[i]!.split(',').map((v) => positiveInt(a, v));
    else if (a === '--tokens') opts.tokens = positiveInt(a, argv[++i]);
    else if (a === '--sequential-max') opts.sequentialMax = positiveInt(a, argv[++i]);
    else if (a === '--max-batch') opts.maxBatch = positiveInt(a, argv[++i]);
    else if (a === '--soak-minutes') opts.soakMinutes = positiveInt(a, argv[++i]);
    else if (a === '--soak-streams') opts.soakStreams = positiveInt(a, argv[++i]);
    else if (a === '--tiny') opts.tiny = true;
    else if (a === '--profile') {
      opts.profileDir = argv[++i];
      if (!opts.profileDir) throw new Error('--profile needs a directory');
    }
    else throw new Error(`unknown flag '${a}'`);
  }
  return opts;
}


const FIXTURES = new URL('../../shared/fixtures/', import.meta.url).pathname;
const CHAT_TEMPLATE = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

async function writeCheckpoint(dir: string, tiny: boolean): Promise<void> {
  mkdirSync(dir);
  if (tiny) {
    for (const f of ['config.json', 'generation_config.json', 'model.safetensors']) symlinkSync(join(FIXTURES, 'gpt2-tiny', f), join(dir, f));
  } else {
    await writeGpt2Small(dir, 50256);
  }
  for (const f of ['tokenizer.json', 'vocab.json', 'merges.txt']) symlinkSync(join(FIXTURES, 'gpt2-tiny', f), join(dir, f));
  const config = JSON.parse(readFileSync(join(FIXTURES, 'gpt2-tiny', 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  await writeJsonAtomic(join(dir, 'tokenizer_config.json'), { ...config, chat_template: CHAT_TEMPLATE });
}

/** `forja serve` as a child; resolves with its URL once it prints it. */
function startServer(dir: string, maxBatch: number, profileDir?: string): Promise<{ child: ChildProcess; url: string }> {
  const main = new URL('../src/apps/cli/main.ts', import.meta.url).pathname;
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', main, 'serve', '--model', dir, '--port', '0', '--max-batch', String(maxBatch), '--max-queue', '1024'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORJA_NO_CACHE: '1' } });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/[^/\s]+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.on('exit', (code) => reject(new Error(`forja serve exited with ${code}: ${err}`)));
  });
}

interface StreamStats {
  tokens: number;
  ttftMs: number;
  interMs: number[];
}

const PROMPTS = ['Tell me a story about a lighthouse.', 'What is the capital of Peru?', 'Write a haiku on autumn rain.', 'Explain how a bicycle stays up.'];

let MODEL = 'gpt2-small-random';

async function oneStream(client: OpenAI, i: number, tokens: number): Promise<StreamStats> {
  const started = performance.now();
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: PROMPTS[i % PROMPTS.length]! }],
    max_tokens: tokens,
    temperature: 1,
    seed: i,
    logit_bias: { '50256': -100 },
    stream: true,
    stream_options: { include_usage: true },
  });
  let first: number | undefined;
  let last = 0;
  const interMs: number[] = [];
  let count = 0;
  for await (const chunk of stream) {
    if (chunk.usage) count = chunk.usage.completion_tokens;
    if (!chunk.choices[0]?.delta.content) continue;
    const now = performance.now();
    if (first === undefined) first = now;
    else interMs.push(now - last);
    last = now;
  }
  return { tokens: count, ttftMs: (first ?? performance.now()) - started, interMs };
}

function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

interface Row {
  mode: string;
  streams: number;
  requests: number;
  tokensPerSecond: number;
  ttft50: number;
  ttft95: number;
  itl50: number;
  itl95: number;
}

function summarize(mode: string, streams: number, stats: StreamStats[], seconds: number): Row {
  const tokens = stats.reduce((s, x) => s + x.tokens, 0);
  const ttft = stats.map((s) => s.ttftMs);
  const itl = stats.flatMap((s) => s.interMs);
  return { mode, streams, requests: stats.length, tokensPerSecond: tokens / seconds, ttft50: percentile(ttft, 50), ttft95: percentile(ttft, 95), itl50: percentile(itl, 50), itl95: percentile(itl, 95) };
}

async function concurrent(client: OpenAI, c: number, tokens: number): Promise<Row> {
  const t0 = performance.now();
  const stats = await Promise.all(Array.from({ length: c }, (_, i) => oneStream(client, i, tokens)));
  return summarize('concurrent', c, stats, (performance.now() - t0) / 1000);
}

async function sequential(client: OpenAI, c: number, tokens: number): Promise<Row> {
  const stats: StreamStats[] = [];
  const t0 = performance.now();
  for (let i = 0; i < c; i++) stats.push(await oneStream(client, i, tokens));
  return summarize('one after another', c, stats, (performance.now() - t0) / 1000);
}

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

/** Returns the number of failed requests. */
async function soak(client: OpenAI, pid: number, minutes: number, streams: number, tokens: number): Promise<number> {
  const until = performance.now() + minutes * 60_000;
  let errors = 0;
  let requests = 0;
  let generated = 0;
  const samples: number[] = [rssMb(pid)];
  const sampler = setInterval(() => samples.push(rssMb(pid)), 5_000);
  await Promise.all(
    Array.from({ length: streams }, async (_, w) => {
      for (let i = w; performance.now() < until; i += streams) {
        try {
          // Awaited first: `generated += await …` would read the total before the await and lose other lanes' tokens.
          const { tokens: n } = await oneStream(client, i, tokens);
          generated += n;
          requests++;
        } catch (err) {
          errors++;
          if (errors <= 5) console.error(`soak error: ${(err as Error).message}`);
        }
      }
    }),
  );
  clearInterval(sampler);
  samples.push(rssMb(pid));
  const third = Math.max(1, Math.floor(samples.length / 3));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`\nsoak: ${minutes} min, ${streams} streams back to back: ${requests} requests, ${generated} tokens, ${errors} errors`);
  console.log(`server RSS (MiB): start ${samples[0]!.toFixed(0)}, first-third mean ${mean(samples.slice(0, third)).toFixed(0)}, last-third mean ${mean(samples.slice(-third)).toFixed(0)}, max ${Math.max(...samples).toFixed(0)}, end ${samples.at(-1)!.toFixed(0)} (${samples.length} samples)`);
  return errors;
}

const f1 = (x: number) => x.toFixed(1);
const f0 = (x: number) => x.toFixed(0);

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const root = mkdtempSync(join(tmpdir(), 'forja-bench-serve-'));
  if (opts.tiny) MODEL = 'gpt2-tiny';
  const dir = join(root, MODEL);
  let child: ChildProcess | undefined;
  try {
    await writeCheckpoint(dir, opts.tiny);
    const started = await startServer(dir, opts.maxBatch, opts.profileDir);
    child = started.child;
    const client = new OpenAI({ baseURL: `${started.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 600_000 });
    await oneStream(client, 0, 4); // warm-up: the first run compiles the decode graph
    console.log(`# forja serve bench: ${opts.tiny ? 'gpt2-tiny (fixture)' : 'GPT-2-small shape (random weights)'}, ${opts.tokens} new tokens per request, --max-batch ${opts.maxBatch}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at start`);
    const rows: Row[] = [];
    for (const c of opts.concurrency) {
      rows.push(await sequential(client, Math.min(c, opts.sequentialMax), opts.tokens));
      rows.push(await concurrent(client, c, opts.tokens));
      const [seq, con] = rows.slice(-2) as [Row, Row];
      console.error(`${c} streams: ${f1(con.tokensPerSecond)} tok/s concurrent, ${f1(seq.tokensPerSecond)} one after another`);
    }
    if (rows.length > 0) {
      const single = rows.find((r) => r.mode === 'concurrent' && r.streams === 1) ?? rows[1]!;
      console.log('\n| streams | mode | requests | tokens/s | × single stream | TTFT p50 (ms) | TTFT p95 (ms) | ITL p50 (ms) | ITL p95 (ms) |');
      console.log('|---|---|---|---|---|---|---|---|---|');
      for (const r of rows) {
        console.log(`| ${r.streams} | ${r.mode} | ${r.requests} | ${f1(r.tokensPerSecond)} | ${(r.tokensPerSecond / single.tokensPerSecond).toFixed(2)} | ${f0(r.ttft50)} | ${f0(r.ttft95)} | ${f0(r.itl50)} | ${f0(r.itl95)} |`);
      }
      console.log(`\nload average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    }
    if (opts.soakMinutes > 0 && (await soak(client, child.pid!, opts.soakMinutes, opts.soakStreams, opts.tokens)) > 0) process.exitCode = 1;
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGINT');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
