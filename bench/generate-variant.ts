/**
 * The runners of `npm run bench:generate`: Forja or transformers.js, fp32 / q8
 * / q4, loaded from the directory the parent prepared. Run as a script, one
 * variant loads in its own process so its peak RSS is its own, decodes
 * `reps` times and prints one JSON line (VariantResult); the parent times the
 * variants side by side in one process (loadRunner), interleaved.
 *
 *   node --import tsx bench/generate-variant.ts '{"runtime":"forja","dtype":"q4","dir":...}'
 */
import { performance } from 'node:perf_hooks';
import { Rng } from '../src/core/rng.js';
import { CausalLM } from '../src/models/causal-lm.js';
import { HEAD, QuantizedModel } from '../src/models/quantize/index.js';
import { setThreads } from '../src/runtime/session.js';
import type { KVCache } from '../src/text/language-model.js';

export type Runtime = 'forja' | 'transformers.js';
export type Dtype = 'fp32' | 'q8' | 'q4';

export interface VariantSpec {
  runtime: Runtime;
  dtype: Dtype;
  /** Forja: the checkpoint (float or quantized); transformers.js: its ONNX export. */
  dir: string;
  threads: number;
  reps: number;
  newTokens: number;
  promptLength: number;
  prefillLength: number;
}

export interface VariantResult {
  runtime: Runtime;
  dtype: Dtype;
  /** Milliseconds between consecutive generated tokens, every rep. */
  stepMs: number[];
  prefillSeconds: number[];
  tokens: number[];
  loadSeconds: number;
  /** Peak resident set of the whole process, bytes. */
  maxRss: number;
  /** Weight bytes one decode step reads (Forja only: from the loaded model). */
  bytesPerToken?: number;
}

export function promptIds(length: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length }, () => rng.int(50000));
}

interface DecodeRun {
  tokens: number[];
  stepMs: number[];
}

/** Intervals between consecutive timestamps. */
const intervals = (stamps: number[]): number[] => stamps.slice(1).map((t, i) => t - stamps[i]!);


export interface Runner {
  decode(prompt: number[], newTokens: number): Promise<DecodeRun>;
  prefill(prompt: number[]): Promise<number>;
  release(): Promise<void>;
  bytesPerToken?: number;
}

async function forjaGreedy(lm: CausalLM, prompt: number[], newTokens: number): Promise<DecodeRun> {
  const tokens: number[] = [];
  const stamps: number[] = [];
  let cache: KVCache | undefined;
  let ids = prompt;
  // As generate's greedy decoding does: the argmax in the graph (no bans here, so a zero bias).
  const choice = { bias: new Float32Array(lm.vocabSize) };
  for (let step = 0; step < newTokens; step++) {
    const past = cache?.length ?? 0;
    const res = await lm.forward({
      ids: BigInt64Array.from(ids, BigInt),
      batch: 1,
      attentionMask: new BigInt64Array(past + ids.length).fill(1n),
      positionIds: BigInt64Array.from(ids, (_, i) => BigInt(past + i)),
      ...(cache ? { cache } : {}),
      choice,
    });
    cache = res.cache;
    tokens.push(res.tokens![0]!);
    ids = [tokens.at(-1)!];
    stamps.push(performance.now());
  }
  return { tokens, stepMs: intervals(stamps) };
}

/** Weights one decode step reads: every matrix once, one row of each embedding table. */
function forjaBytesPerToken(lm: CausalLM): number {
  const m = lm.model;
  const { hidden } = m.dims;
  const rowOnly = (name: string) => /(wte|wpe|embed_tokens)\.weight$/.test(name);
  let bytes = 0;
  for (const [name, v] of m.weights) bytes += rowOnly(name) ? 4 * hidden : v.value.byteLength;
  if (m instanceof QuantizedModel) {
    for (const q of m.linears.values()) bytes += q.data.byteLength + q.scales.byteLength + (q.zeros?.byteLength ?? 0);
    if (!m.linears.has(HEAD) && m.arch.tied) bytes += 4 * m.dims.vocabSize * hidden;
  } else {
    // The tied head reads the whole table.
    bytes += 4 * m.dims.vocabSize * hidden;
  }
  return bytes;
}

async function forjaRunner(spec: VariantSpec): Promise<Runner> {
  setThreads(spec.threads);
  const lm = await CausalLM.load(spec.dir);
  return {
    decode: (prompt, n) => forjaGreedy(lm, prompt, n),
    prefill: async (prompt) => {
      const t0 = performance.now();
      await lm.forward({
        ids: BigInt64Array.from(prompt, BigInt),
        batch: 1,
        attentionMask: new BigInt64Array(prompt.length).fill(1n),
        positionIds: BigInt64Array.from(prompt, (_, i) => BigInt(i)),
      });
      return (performance.now() - t0) / 1000;
    },
    release: () => lm.release(),
    bytesPerToken: forjaBytesPerToken(lm),
  };
}

async function transformersJsRunner(spec: VariantSpec): Promise<Runner> {
  const { AutoModelForCausalLM, env, Tensor } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  const model = await AutoModelForCausalLM.from_pretrained(spec.dir, {
    dtype: spec.dtype,
    local_files_only: true,
    session_options: { intraOpNumThreads: spec.threads, interOpNumThreads: 1 },
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

export const loadRunner = (spec: VariantSpec): Promise<Runner> => (spec.runtime === 'forja' ? forjaRunner(spec) : transformersJsRunner(spec));

async function run(spec: VariantSpec): Promise<VariantResult> {
  const t0 = performance.now();
  const runner = await loadRunner(spec);
  const loadSeconds = (performance.now() - t0) / 1000;
  const prompt = promptIds(spec.promptLength, 7);
  const long = promptIds(spec.prefillLength, 8);
  await runner.decode(prompt, 4); // warm-up
  await runner.prefill(long);
  const stepMs: number[] = [];
  const prefillSeconds: number[] = [];
  let tokens: number[] = [];
  for (let rep = 0; rep < spec.reps; rep++) {
    const d = await runner.decode(prompt, spec.newTokens);
    stepMs.push(...d.stepMs);
    tokens = d.tokens;
    prefillSeconds.push(await runner.prefill(long));
  }
  return {
    runtime: spec.runtime,
    dtype: spec.dtype,
    stepMs,
    prefillSeconds,
    tokens,
    loadSeconds,
    maxRss: process.resourceUsage().maxRSS * 1024,
    ...(runner.bytesPerToken !== undefined ? { bytesPerToken: runner.bytesPerToken } : {}),
  };
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const spec = JSON.parse(process.argv[2]!) as VariantSpec;
  process.stdout.write(`${JSON.stringify(await run(spec))}\n`);
  // onnxruntime's threads can keep the process alive.
  process.exit(0);
}
