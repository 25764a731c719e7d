/**
 * `npm run bench:finetune`: one fine-tuning step of a GPT-2-small-shaped model
 * (12 layers, 768 wide, 12 heads, vocab 50257, random weights built in
 * process), batch × 128 tokens, every label supervised, AdamW (constant lr,
 * weight decay 0.01 but on biases and norms, clip 1.0):
 *   - LoRA: r 8, alpha 16, target c_attn, AdamW over the adapters only;
 *   - full: AdamW over every weight.
 * Forja runs FinetuneTask.trainStep (the step graph finetune() trains with);
 * PyTorch (bench/torch_finetune.py) runs a plain GPT-2 and a hand-written
 * LoRA, since PEFT and transformers cannot be installed here. Each
 * configuration runs in its own child process, so peak RSS (VmHWM) is its own.
 * Warm-up steps are excluded; the time of a step is the median of the rest.
 *
 *   npm run bench:finetune
 *   FORJA_PYTHON=/path/python3    the interpreter with torch (default: python3, then /usr/bin/python3)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../src/core/rng.js';
import { rowsOf, type Example } from '../src/data/finetune/batching.js';
import { resolveArgs } from '../src/models/finetune/args.js';
import { trainableModel, type LoadedBase } from '../src/models/finetune/open.js';
import { FinetuneTask } from '../src/models/finetune/task.js';
import { Gpt2, gpt2ConfigJson, parseGpt2Config } from '../src/models/gpt2/model.js';
import { setThreads } from '../src/runtime/session.js';
import { findTorchPython, pythonEnv } from './torch-python.js';
import { FinetuneSplit } from '../src/text/finetune/dataset.js';
import { median, peakRssMb } from './stats.js';

const S = { layers: 12, embd: 768, heads: 12, vocab: 50257, positions: 1024, batch: 1, seq: 128, warmup: 2, steps: 5, threads: 2, lr: 1e-4, weightDecay: 0.01, clip: 1.0, seed: 0 };
const LORA = { r: 8, lora_alpha: 16, target_modules: ['c_attn'] };
const HERE = fileURLToPath(new URL('.', import.meta.url));

type Mode = 'lora' | 'full';
interface Result {
  engine: string;
  mode: Mode;
  trainable_parameters: number;
  median_step_seconds: number;
  /** Every step's time, warm-up included: a slow outlier shows here, not in the median. */
  step_seconds: number[];
  tokens_per_second: number;
  first_loss: number;
  last_loss: number;
  peak_rss_mb: number;
}

/** Random token rows of exactly `seq` tokens, all supervised: the same work for both engines. */
function randomSplit(rows: number): FinetuneSplit {
  const rng = new Rng(S.seed + 1);
  const examples: Example[] = Array.from({ length: rows }, () => {
    const inputIds = Int32Array.from({ length: S.seq }, () => Math.floor(rng.next() * S.vocab));
    return { inputIds, labels: inputIds.slice() };
  });
  return new FinetuneSplit(rowsOf(examples), rows, { padTokenId: 0, padTo: 'max-length', maxLength: S.seq });
}

/** Child mode: train `mode` with Forja's FinetuneTask; print one JSON line. */
async function benchForja(mode: Mode): Promise<void> {
  setThreads(S.threads);
  const config = gpt2ConfigJson({ layers: S.layers, heads: S.heads, embd: S.embd, blockSize: S.positions, dropout: 0 }, S.vocab);
  const model = Gpt2.init(parseGpt2Config(config), new Rng(S.seed));
  const total = S.warmup + S.steps;
  const args = resolveArgs({
    learning_rate: S.lr,
    lr_scheduler_type: 'constant',
    weight_decay: S.weightDecay,
    max_grad_norm: S.clip,
    per_device_train_batch_size: S.batch,
    max_steps: total,
    seed: S.seed,
    max_length: S.seq,
  });
  // trainableModel reads only the model; the rest of LoadedBase describes files this bench does not have.
  const base: LoadedBase = { dir: '', config, model, configSha256: '' };
  const { trainable } = trainableModel(base, mode === 'lora' ? LORA : undefined, args, undefined);
  const task = new FinetuneTask({ trainable, data: { train: randomSplit(total * S.batch) }, args });
  try {
    await task.prepare(0); // compiling is not a step
    const times: number[] = [];
    const losses: number[] = [];
    for (let step = 0; step < total; step++) {
      const started = performance.now();
      const { logs } = await task.trainStep({ epoch: 0, step, globalStep: step });
      times.push((performance.now() - started) / 1000);
      losses.push(logs.loss!);
    }
    const seconds = median(times.slice(S.warmup));
    const result: Result = {
      engine: 'forja',
      mode,
      trainable_parameters: task.parameterCounts.trainable,
      median_step_seconds: seconds,
      step_seconds: times,
      tokens_per_second: (S.batch * S.seq) / seconds,
      first_loss: losses[0]!,
      last_loss: losses.at(-1)!,
      peak_rss_mb: peakRssMb(),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await task.release();
  }
}

const lastJson = (stdout: string): Result => JSON.parse(stdout.trim().split('\n').at(-1)!) as Result;

function runForjaChild(mode: Mode): Result {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(HERE, 'finetune.ts'), '--engine', 'forja', '--mode', mode], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  return lastJson(out);
}

function runTorchChild(python: string, mode: Mode): Result {
  const flags: Record<string, number> = {
    layers: S.layers, embd: S.embd, heads: S.heads, vocab: S.vocab, positions: S.positions, batch: S.batch, seq: S.seq,
    warmup: S.warmup, steps: S.steps, threads: S.threads, lr: S.lr, 'weight-decay': S.weightDecay, clip: S.clip, seed: S.seed,
    r: LORA.r, 'lora-alpha': LORA.lora_alpha,
  };
  const args = [join(HERE, 'torch_finetune.py'), '--mode', mode, ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, String(v)])];
  return lastJson(execFileSync(python, args, { encoding: 'utf8', env: pythonEnv(), stdio: ['ignore', 'pipe', 'inherit'] }));
}

function table(results: Result[]): string {
  const torchOf = (mode: Mode) => results.find((r) => r.engine !== 'forja' && r.mode === mode);
  const fullOf = (engine: string) => results.find((r) => r.engine === engine && r.mode === 'full');
  const header = ['engine', 'step', 'trainable params', 'median step', 'tokens/s', 'vs PyTorch', 'peak RSS', 'RSS vs full', 'loss first → last'];
  const rows = results.map((r) => {
    const torch = torchOf(r.mode);
    const full = fullOf(r.engine);
    return [
      r.engine === 'forja' ? 'Forja (onnxruntime-node)' : `PyTorch ${r.engine.replace('pytorch ', '')}${r.mode === 'lora' ? ' (hand-written LoRA; PEFT cannot be installed here)' : ''}`,
      r.mode === 'lora' ? `LoRA r ${LORA.r}, c_attn` : 'full',
      r.trainable_parameters.toLocaleString('en-US'),
      `${(1000 * r.median_step_seconds).toFixed(0)} ms`,
      r.tokens_per_second.toFixed(1),
      torch ? `${(r.tokens_per_second / torch.tokens_per_second).toFixed(2)}×` : 'n/a',
      `${Math.round(r.peak_rss_mb).toLocaleString('en-US')} MB`,
      full ? `${(r.peak_rss_mb / full.peak_rss_mb).toFixed(2)}×` : 'n/a',
      `${r.first_loss.toFixed(3)} → ${r.last_loss.toFixed(3)}`,
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { engine: { type: 'string' }, mode: { type: 'string' } } });
  const mode = values.mode as Mode | undefined;
  if (values.engine === 'forja' && (mode === 'lora' || mode === 'full')) return benchForja(mode);

  console.log(
    `GPT-2-small shape (${S.layers} layers, ${S.embd} wide, ${S.heads} heads, vocab ${S.vocab}), batch ${S.batch} × ${S.seq} tokens, ` +
      `AdamW(lr ${S.lr}, wd ${S.weightDecay}, clip ${S.clip}), ${S.threads} threads, median of ${S.steps} steps after ${S.warmup} warm-up\n`,
  );
  const results: Result[] = [];
  const python = findTorchPython();
  for (const m of ['lora', 'full'] as const) {
    results.push(runForjaChild(m));
    if (python) results.push(runTorchChild(python, m));
  }
  console.log(table(results));
  console.log('\nEvery step (ms, warm-up first):');
  for (const r of results) console.log(`  ${r.engine} ${r.mode}: ${r.step_seconds.map((t) => Math.round(1000 * t)).join(', ')}`);
  if (!python) {
    console.log('\nPyTorch: not measured (no python3 with `import torch`; apt-get install python3-torch, or set FORJA_PYTHON).');
    return;
  }
  const get = (engine: (r: Result) => boolean, m: Mode) => results.find((r) => engine(r) && r.mode === m)!;
  const isForja = (r: Result) => r.engine === 'forja';
  const speed = get(isForja, 'lora').tokens_per_second / get((r) => !isForja(r), 'lora').tokens_per_second;
  const memory = get(isForja, 'lora').peak_rss_mb / get(isForja, 'full').peak_rss_mb;
  console.log(`\nLoRA tokens/s Forja/PyTorch ${speed.toFixed(2)}× (target ≥ 1.2×: ${speed >= 1.2 ? 'met' : 'NOT met'}).`);
  console.log(`Forja LoRA peak RSS / full peak RSS ${memory.toFixed(2)}× (target ≤ 0.5×: ${memory <= 0.5 ? 'met' : 'NOT met'}).`);
}

await main();
