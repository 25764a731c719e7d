/**
 * Assisted (speculative) decoding on TinyShakespeare: a target GPT and a small draft trained on
 * the same text with `forja train gpt` (or given as checkpoint directories), greedy decoding of
 * prompts taken from the validation part. Reports, from one run: the target's greedy tokens/s,
 * each assisted setting's tokens/s, the speed-up, the acceptance rate (kept / drafted tokens),
 * tokens per target pass, and whether every assisted output equals the target's greedy output.
 * Modes run in turn for `--rounds` rounds (alternate rounds reversed); medians over rounds.
 *
 *   npm run bench:speculative -- [--target DIR --draft DIR] [--rounds N] [--new-tokens N] [--prompts N]
 *       [--target-steps N] [--draft-steps N] [--threads N] [--json]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CausalLM } from '../src/models/causal-lm.js';
import { setThreads } from '../src/runtime/session.js';
import { generate, type GenerateOptions } from '../src/text/generate.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { median } from './stats.js';
import { positiveInt } from './args.js';

const DATA = new URL('../../shared/data/tinyshakespeare/input.txt', import.meta.url).pathname;
const FORJA = new URL('../bin/forja.js', import.meta.url).pathname;

interface Options {
  target?: string;
  draft?: string;
  rounds: number;
  newTokens: number;
  prompts: number;
  targetSteps: number;
  draftSteps: number;
  threads: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { rounds: 3, newTokens: 96, prompts: 4, targetSteps: 400, draftSteps: 300, threads: availableParallelism(), json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--target') opts.target = argv[++i];
    else if (a === '--draft') opts.draft = argv[++i];
    else if (a === '--rounds') opts.rounds = positiveInt(a, argv[++i]);
    else if (a === '--new-tokens') opts.newTokens = positiveInt(a, argv[++i]);
    else if (a === '--prompts') opts.prompts = positiveInt(a, argv[++i]);
    else if (a === '--target-steps') opts.targetSteps = positiveInt(a, argv[++i]);
    else if (a === '--draft-steps') opts.draftSteps = positiveInt(a, argv[++i]);
    else if (a === '--threads') opts.threads = positiveInt(a, argv[++i]);
    else if (a === '--json') opts.json = true;
    else throw new Error(`unknown flag '${a}'`);
  }
  return opts;
}

/** Train with Forja's own CLI, niced: the machine is shared. */
function train(out: string, shape: string[], steps: number): string {
  const args = ['-n', '10', process.execPath, FORJA, 'train', 'gpt', '--data', DATA, ...shape, '--steps', String(steps), '--eval-interval', String(steps), '--json', '--out', out];
  process.stderr.write(`training: nice ${args.slice(2).join(' ')}\n`);
  execFileSync('nice', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

function checkpoints(opts: Options): { target: string; draft: string } {
  if ((opts.target === undefined) !== (opts.draft === undefined)) throw new Error('give both --target and --draft, or neither (then both are trained)');
  if (opts.target && opts.draft) return { target: opts.target, draft: opts.draft };
  const dir = mkdtempSync(join(tmpdir(), 'forja-bench-speculative-'));
  return {
    draft: train(join(dir, 'draft'), ['--layers', '2', '--heads', '4', '--embd', '128', '--block-size', '128', '--batch-size', '16'], opts.draftSteps),
    target: train(join(dir, 'target'), ['--layers', '6', '--heads', '6', '--embd', '384', '--block-size', '128', '--batch-size', '4', '--lr', '1.5e-3', '--warmup-steps', '20'], opts.targetSteps),
  };
}

/** Prompts from the validation tenth (the text training never saw): line starts, 32 characters each. */
function validationPrompts(count: number): string[] {
  const text = readFileSync(DATA, 'utf8');
  const val = text.slice(Math.floor(text.length * 0.9));
  const prompts: string[] = [];
  for (let i = 0; i < count; i++) {
    const at = val.indexOf('\n', Math.floor(((i + 0.5) * val.length) / count)) + 1;
    prompts.push(val.slice(at, at + 32));
  }
  return prompts;
}

interface Mode {
  name: string;
  options: GenerateOptions;
}

interface ModeResult {
  name: string;
  tokensPerSecond: number;
  speedup: number;
  acceptance?: number;
  tokensPerTargetPass?: number;
  identical: boolean;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  setThreads(opts.threads);
  const dirs = checkpoints(opts);
  for (const dir of [dirs.target, dirs.draft]) if (!existsSync(join(dir, 'config.json'))) throw new Error(`${dir} is not a checkpoint directory (no config.json)`);
  if (readFileSync(join(dirs.target, 'tokenizer.json'), 'utf8') !== readFileSync(join(dirs.draft, 'tokenizer.json'), 'utf8')) {
    throw new Error(`${dirs.target} and ${dirs.draft} have different tokenizers; the draft must share the target's vocabulary`);
  }
  const target = await CausalLM.load(dirs.target);
  const draft = await CausalLM.load(dirs.draft);
  const tokenizer = await Tokenizer.fromDir(dirs.target);
  const prompts = validationPrompts(opts.prompts).map((p) => tokenizer.encode(p));
  const longest = Math.max(...prompts.map((p) => p.length));
  const newTokens = Math.min(opts.newTokens, target.maxPositions - longest, draft.maxPositions - longest);
  const base: GenerateOptions = { do_sample: false, max_new_tokens: newTokens, min_new_tokens: newTokens };
  const modes: Mode[] = [
    { name: 'target greedy', options: base },
    { name: 'draft greedy (alone)', options: base },
    ...[2, 3, 4, 6, 8].map((k) => ({ name: `assisted, k = ${k}`, options: { ...base, assistant_model: draft, num_assistant_tokens: k, assistant_confidence_threshold: 0 } })),
    { name: "assisted, transformers' defaults (k = 20, confidence 0.4)", options: { ...base, assistant_model: draft } },
    { name: 'assisted, heuristic k from 4, no confidence stop', options: { ...base, assistant_model: draft, num_assistant_tokens: 4, num_assistant_tokens_schedule: 'heuristic', assistant_confidence_threshold: 0 } },
  ];
  const rates = new Map<string, number[]>(modes.map((m) => [m.name, []]));
  const stats = new Map<string, { drafted: number; accepted: number; passes: number; tokens: number; identical: boolean }>();
  const reference: number[][] = [];
  // Warm-up (and the reference outputs).
  for (const p of prompts) reference.push((await generate(target, [p], base)).newTokens[0]!);
  for (const m of modes) await generate(m.name.startsWith('draft') ? draft : target, [prompts[0]!], m.options);
  for (let round = 0; round < opts.rounds; round++) {
    for (const m of round % 2 ? [...modes].reverse() : modes) {
      const model = m.name.startsWith('draft') ? draft : target;
      const s = stats.get(m.name) ?? { drafted: 0, accepted: 0, passes: 0, tokens: 0, identical: true };
      let tokens = 0;
      const start = performance.now();
      for (const [i, p] of prompts.entries()) {
        const out = await generate(model, [p], m.options);
        tokens += out.newTokens[0]!.length;
        if (out.assisted) {
          s.drafted += out.assisted.drafted;
          s.accepted += out.assisted.accepted;
          s.passes += out.assisted.rounds + 1;
          s.tokens += out.newTokens[0]!.length;
          s.identical &&= out.newTokens[0]!.every((t, j) => t === reference[i]![j]);
        }
      }
      rates.get(m.name)!.push(tokens / ((performance.now() - start) / 1000));
      stats.set(m.name, s);
    }
  }
  const baseline = median(rates.get('target greedy')!);
  const results: ModeResult[] = modes.map((m) => {
    const tps = median(rates.get(m.name)!);
    const s = stats.get(m.name)!;
    const assisted = m.options.assistant_model !== undefined;
    return {
      name: m.name,
      tokensPerSecond: tps,
      speedup: tps / baseline,
      ...(assisted && { acceptance: s.accepted / s.drafted, tokensPerTargetPass: s.tokens / s.passes }),
      identical: !assisted || s.identical,
    };
  });
  const sample = tokenizer.decode([...prompts[0]!, ...reference[0]!]);
  const info = {
    date: new Date().toISOString().slice(0, 10),
    cpu: cpus()[0]?.model ?? 'unknown',
    threads: opts.threads,
    loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
    target: dirs.target,
    draft: dirs.draft,
    prompts: prompts.length,
    newTokens,
    rounds: opts.rounds,
  };
  await Promise.all([target.release(), draft.release()]);
  if (opts.json) {
    console.log(JSON.stringify({ ...info, results, sample }));
    return;
  }
  console.log(`${info.date} · ${info.cpu} · ${info.threads} threads · load ${info.loadAverage.join(' ')} · ${prompts.length} prompts × ${newTokens} greedy tokens, median of ${opts.rounds} rounds`);
  console.log(`target ${dirs.target}\ndraft  ${dirs.draft}\nsample: ${JSON.stringify(sample)}\n`);
  console.log('| mode | tok/s | × target greedy | acceptance | tokens / target pass | same ids as target greedy |');
  console.log('|---|---:|---:|---:|---:|---|');
  for (const r of results) {
    const pct = r.acceptance === undefined ? '' : `${(100 * r.acceptance).toFixed(1)}%`;
    const per = r.tokensPerTargetPass === undefined ? '' : r.tokensPerTargetPass.toFixed(2);
    console.log(`| ${r.name} | ${r.tokensPerSecond.toFixed(1)} | ${r.speedup.toFixed(2)}× | ${pct} | ${per} | ${r.name.startsWith('draft') ? '—' : r.identical ? 'yes' : 'NO'} |`);
  }
}

await main();
