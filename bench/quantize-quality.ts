/**
 * Quality of int8/int4 weights on a model Forja trained: the char-level GPT of
 * `forja train gpt` on TinyShakespeare (trained here first, under `nice`, unless
 * --model names one). For each variant: the validation loss over the whole
 * held-out 10% (non-overlapping windows of the context length, every position
 * scored), top-1 agreement with fp32 on those positions, and greedy top-1
 * agreement over 256 tokens: fp32 continues 4 held-out prompts greedily by 64
 * tokens each, the variant reads the same sequences, and we count the
 * positions where its argmax is fp32's token.
 *
 *   npm run bench:quantize -- [--model DIR] [--steps N] [--variants all|default] [--json]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitTokens } from '../src/data/text.js';
import { CausalLM } from '../src/models/causal-lm.js';
import { QuantizedModel, type QuantizationOptions } from '../src/models/quantize/index.js';
import { Tokenizer } from '../src/text/tokenizer.js';

const DATA = join(import.meta.dirname, '../../shared/data/tinyshakespeare/input.txt');

interface Options {
  model?: string;
  steps: number;
  all: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { steps: 1200, all: true, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--model') opts.model = argv[++i]!;
    else if (a === '--steps') opts.steps = Number(argv[++i]);
    else if (a === '--variants') opts.all = argv[++i] === 'all';
    else if (a === '--json') opts.json = true;
    else throw new Error(`unknown flag '${a}'`);
  }
  return opts;
}

/** The trained model: reused when an earlier run left it (a finished run), else trained now at low priority. */
function trainedModel(steps: number): string {
  const dir = join(tmpdir(), `forja-bench-shakespeare-gpt-${steps}`);
  const done = join(dir, 'bench-trained');
  if (existsSync(done)) return dir;
  console.log(`training the TinyShakespeare GPT (${steps} steps, nice -n 10) into ${dir} ...`);
  const bin = join(import.meta.dirname, '../bin/forja.js');
  execFileSync('nice', ['-n', '10', process.execPath, bin, 'train', 'gpt', '--data', DATA, '--steps', String(steps), '--out', dir, '--overwrite', '--json'], { stdio: ['ignore', 'ignore', 'inherit'] });
  writeFileSync(done, `${new Date().toISOString()}\n`);
  return dir;
}

interface Variant {
  name: string;
  loadIn?: QuantizationOptions;
  accuracyLevel?: number;
}

const VARIANTS: Variant[] = [
  { name: 'fp32' },
  { name: 'int8 (defaults: g128 asym, head int8, embedding fp16)', loadIn: { bits: 8 } },
  { name: 'int4 (defaults: g128 asym, head int4, embedding fp16)', loadIn: { bits: 4 } },
];
const MORE: Variant[] = [
  { name: 'int8 g32', loadIn: { bits: 8, group_size: 32 } },
  { name: 'int8 g128 sym', loadIn: { bits: 8, sym: true } },
  { name: 'int8, fp32 compute', loadIn: { bits: 8 }, accuracyLevel: 1 },
  { name: 'int4 g32', loadIn: { bits: 4, group_size: 32 } },
  { name: 'int4 g64', loadIn: { bits: 4, group_size: 64 } },
  { name: 'int4 g128 sym', loadIn: { bits: 4, sym: true } },
  { name: 'int4 g32 sym', loadIn: { bits: 4, group_size: 32, sym: true } },
  { name: 'int4, fp32 compute', loadIn: { bits: 4 }, accuracyLevel: 1 },
  { name: 'int4, head fp32', loadIn: { bits: 4, lm_head: false } },
  { name: 'int8, embedding on the head copy', loadIn: { bits: 8, embedding: 'quantized' } },
  { name: 'int4, embedding on the head copy', loadIn: { bits: 4, embedding: 'quantized' } },
  { name: 'int4, embedding fp32', loadIn: { bits: 4, embedding: 'float32' } },
];

interface Scores {
  logits: Float32Array[];
  loss: number;
}

const ROWS = 8;

/** Logits of every position of each window, and the mean next-token cross-entropy. */
async function score(lm: CausalLM, windows: Int32Array[]): Promise<Scores> {
  const logits: Float32Array[] = [];
  let nll = 0;
  let count = 0;
  const V = lm.vocabSize;
  for (let w = 0; w < windows.length; w += ROWS) {
    const rows = windows.slice(w, w + ROWS);
    const T = rows[0]!.length;
    const ids = BigInt64Array.from(rows.flatMap((r) => [...r]), BigInt);
    const out = await lm.forward({
      ids,
      batch: rows.length,
      attentionMask: new BigInt64Array(rows.length * T).fill(1n),
      positionIds: BigInt64Array.from({ length: rows.length * T }, (_, i) => BigInt(i % T)),
      allLogits: true,
    });
    rows.forEach((row, b) => {
      const l = out.logits.slice(b * T * V, (b + 1) * T * V);
      logits.push(l);
      for (let t = 0; t + 1 < T; t++) {
        const x = l.subarray(t * V, (t + 1) * V);
        let max = -Infinity;
        for (const v of x) max = Math.max(max, v);
        let sum = 0;
        for (const v of x) sum += Math.exp(v - max);
        nll += Math.log(sum) + max - x[row[t + 1]!]!;
        count++;
      }
    });
  }
  return { logits, loss: nll / count };
}

function argmax(x: Float32Array, from: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (x[from + i]! > x[from + best]!) best = i;
  return best;
}

/** Positions whose argmax agrees between two score sets (the last position of each window has no next token in the loss, but still counts here). */
function agreement(a: Float32Array[], b: Float32Array[], V: number, from = 0): number {
  let same = 0;
  let n = 0;
  a.forEach((la, w) => {
    for (let t = from; t < la.length / V; t++, n++) if (argmax(la, t * V, V) === argmax(b[w]!, t * V, V)) same++;
  });
  return same / n;
}

async function greedy(lm: CausalLM, prompt: Int32Array, newTokens: number): Promise<Int32Array> {
  const seq = [...prompt];
  for (let i = 0; i < newTokens; i++) {
    const out = await lm.forward({ ids: BigInt64Array.from(seq, BigInt), batch: 1, attentionMask: new BigInt64Array(seq.length).fill(1n), positionIds: BigInt64Array.from(seq, (_, j) => BigInt(j)) });
    seq.push(argmax(out.logits, 0, lm.vocabSize));
  }
  return Int32Array.from(seq);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const dir = opts.model ?? trainedModel(opts.steps);
  const tokenizer = await Tokenizer.fromDir(dir);
  const { val } = splitTokens(tokenizer.encode(readFileSync(DATA, 'utf8')));
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { n_positions?: number; max_position_embeddings?: number };
  const T = config.n_positions ?? config.max_position_embeddings!;
  const windows = Array.from({ length: Math.floor(val.length / T) }, (_, i) => val.subarray(i * T, (i + 1) * T));
  const PROMPT = 64;
  const NEW = 64;
  const prompts = [0, 1, 2, 3].map((i) => windows[Math.floor((i * windows.length) / 4)]!.subarray(0, PROMPT));
  console.log(`model ${dir}: context ${T}, validation ${val.length} tokens in ${windows.length} windows; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const fp32 = await CausalLM.load(dir);
  const ref = await score(fp32, windows);
  const continuations: Int32Array[] = [];
  for (const p of prompts) continuations.push(await greedy(fp32, p, NEW)); // one run at a time per session
  const refGreedy = await score(fp32, continuations);
  await fp32.release();
  const V = fp32.vocabSize;

  const rows: { name: string; loss: number; lossRatio: number; valTop1: number; greedyTop1: number; bytes: number }[] = [];
  for (const v of opts.all ? [...VARIANTS, ...MORE] : VARIANTS) {
    const lm = v.loadIn ? await CausalLM.load(dir, { loadIn: v.loadIn, ...(v.accuracyLevel ? { accuracyLevel: v.accuracyLevel } : {}) }) : await CausalLM.load(dir);
    const s = v.loadIn ? await score(lm, windows) : ref;
    const g = v.loadIn ? await score(lm, continuations) : refGreedy;
    // Position t's logits predict token t + 1: count the positions that predict a generated token.
    const greedyTop1 = agreementOnTokens(g.logits, continuations, V, PROMPT - 1);
    const bytes = lm.model instanceof QuantizedModel ? lm.model.weightBytes : [...lm.model.weights.values()].reduce((n, w) => n + w.value.byteLength, 0);
    rows.push({ name: v.name, loss: s.loss, lossRatio: s.loss / ref.loss, valTop1: agreement(ref.logits, s.logits, V), greedyTop1, bytes });
    await lm.release();
  }
  if (opts.json) console.log(JSON.stringify({ model: dir, rows }));
  const header = ['variant', 'val loss', 'vs fp32', 'top-1 agree (val)', 'greedy top-1 (256 tok)', 'weights MB'];
  const cells = rows.map((r) => [r.name, r.loss.toFixed(4), `${((r.lossRatio - 1) * 100).toFixed(2)}%`, `${(100 * r.valTop1).toFixed(1)}%`, `${(100 * r.greedyTop1).toFixed(1)}%`, (r.bytes / 1e6).toFixed(2)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join(' | ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}`);
  for (const c of cells) console.log(line(c));
  console.log(`\nload average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

/** Of the generated tokens (positions from `from` + 1 on), how many are the variant's argmax at the position before. */
function agreementOnTokens(logits: Float32Array[], seqs: Int32Array[], V: number, from: number): number {
  let same = 0;
  let n = 0;
  seqs.forEach((seq, w) => {
    for (let t = from; t + 1 < seq.length; t++, n++) if (argmax(logits[w]!, t * V, V) === seq[t + 1]) same++;
  });
  return same / n;
}

await main();
