/**
 * `npm run bench:train-gpt`: char-level GPT-2 training on TinyShakespeare,
 * Forja's LmTask against PyTorch (bench/torch_gpt_train.py) on identical work:
 * PyTorch starts from Forja's initial weights and runs Forja's batches with
 * Forja's learning rates, so the two loss curves may differ only by float
 * rounding. Two shapes:
 *   - small:  4 layers, 4 heads, 128 wide, block 64, batch 32 (issue 10's check);
 *   - medium: 6 layers, 6 heads, 384 wide, block 256, batch 8 (nanoGPT's Shakespeare shape, smaller batch,
 *     and its rate 1e-3, with 10 warm-up steps: at Forja's default 2e-3 this short run spikes).
 * Each engine runs in its own child process (peak RSS is its own). PyTorch
 * runs with each of TORCH_THREADS (torch-python.ts), and Forja is compared
 * with the faster.
 * A step's time is the training step alone (batch fill and session run; for
 * PyTorch zero_grad, forward, backward, clip and update); the first
 * WARMUP steps are excluded from tokens/s.
 *
 *   npm run bench:train-gpt [-- --shape small|medium] [--steps N]
 *   npm run bench:train-gpt -- --profile    Forja alone, under ORT's profiler:
 *                                           kernel time by phase and op type
 *   FORJA_PYTHON=/path/python3    the interpreter with torch (default: python3, then /usr/bin/python3)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readTextFile, TextDataset } from '../src/data/text.js';
import { fingerprint } from '../src/models/lm/data.js';
import { resolveSettings, type LmTrainSettings } from '../src/models/lm/settings.js';
import { initialModel, LmTask } from '../src/models/lm/task.js';
import { resolveTrainingTokenizer } from '../src/models/lm/tokenizers.js';
import { setProfiling, setThreads } from '../src/runtime/session.js';
import { formatProfile, summariseProfile } from './ort-profile.js';
import { median, peakRssMb } from './stats.js';
import { findTorchPython, TORCH_THREADS, torchEnv, torchThreadsLabel, type TorchThreads } from './torch-python.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const DATA = join(HERE, '../../shared/data/tinyshakespeare/input.txt');
const THREADS = 2;
const WARMUP = 3;

const SHAPES = {
  small: { layers: 4, heads: 4, embd: 128, blockSize: 64, batchSize: 32, steps: 200 },
  medium: { layers: 6, heads: 6, embd: 384, blockSize: 256, batchSize: 8, steps: 30, lr: 1e-3, warmupSteps: 10 },
} as const;
type ShapeName = keyof typeof SHAPES;

interface EngineResult {
  engine: string;
  step_seconds: number[];
  losses: number[];
  peak_rss_mb: number;
  /** With --profile: the ORT profile's report. */
  profile?: string;
}

function settingsOf(shape: ShapeName, steps: number): LmTrainSettings {
  const { steps: _default, ...given } = SHAPES[shape];
  return resolveSettings({ ...given, steps, evalInterval: steps, dropout: 0 });
}

/**
 * Child mode: write the initial weights, every step's batch and rate into
 * `dir` for PyTorch, then train those steps with Forja; print one JSON line.
 */
async function benchForja(shape: ShapeName, steps: number, dir: string, profile: boolean): Promise<void> {
  setThreads(THREADS);
  if (profile) setProfiling(join(dir, 'ort-profile'));
  const settings = settingsOf(shape, steps);
  const text = await readTextFile(DATA);
  const tokenizer = await resolveTrainingTokenizer('char', text);
  const dataset = TextDataset.fromText(text, tokenizer.tokenizer, { seed: settings.seed });
  const { model, config } = initialModel(settings, tokenizer);
  const task = await LmTask.create({ settings, model, config, dataset, tokenizer, data: fingerprint(text) });
  const result: EngineResult = { engine: `forja (onnxruntime-node, ${THREADS} threads)`, step_seconds: [], losses: [], peak_rss_mb: 0 };
  try {
    writeInitialWeights(task, dir);
    const tokens = settings.batchSize * settings.blockSize;
    const batches = new BigInt64Array(steps * 2 * tokens);
    for (let step = 0; step < steps; step++) {
      const batch = dataset.batch('train', step, settings);
      batches.set(batch.inputs, step * 2 * tokens);
      batches.set(batch.targets, (step * 2 + 1) * tokens);
    }
    writeFileSync(join(dir, 'batches.bin'), new Uint8Array(batches.buffer));
    const lrs = Array.from({ length: steps }, (_, step) => task.optimizer.learningRateAt(step));
    const run = { vocab: tokenizer.tokenizer.vocabSize, layers: settings.layers, heads: settings.heads, embd: settings.embd, block: settings.blockSize, batch: settings.batchSize };
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...run, lrs, weight_decay: settings.weightDecay, beta1: settings.beta1, beta2: settings.beta2, clip: settings.clipNorm }));

    for (let step = 0; step < steps; step++) {
      const started = performance.now();
      const { logs } = await task.trainStep({ epoch: 0, step, globalStep: step });
      result.step_seconds.push((performance.now() - started) / 1000);
      result.losses.push(logs.loss!);
    }
    result.peak_rss_mb = peakRssMb();
  } finally {
    await task.release(); // this writes the profile
  }
  if (profile) result.profile = formatProfile(summariseProfile(largestProfile(dir), WARMUP));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** The training step's profile: the run's largest (the evaluator's session never runs). */
function largestProfile(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.startsWith('ort-profile')).map((f) => join(dir, f));
  if (files.length === 0) throw new Error(`bench:train-gpt: ONNX Runtime wrote no profile into ${dir}`);
  return files.reduce((a, b) => (statSync(a).size >= statSync(b).size ? a : b));
}

/** weights.json ([{name, shape, offset}]) and weights.bin (float32), in checkpoint names and layout. */
function writeInitialWeights(task: LmTask, dir: string): void {
  const manifest: { name: string; shape: readonly number[]; offset: number }[] = [];
  const parts: Float32Array[] = [];
  let offset = 0;
  for (const [name, { shape, data }] of task.checkpointWeights()) {
    manifest.push({ name, shape, offset });
    parts.push(data);
    offset += data.byteLength;
  }
  const blob = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    blob.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at += p.byteLength;
  }
  writeFileSync(join(dir, 'weights.bin'), blob);
  writeFileSync(join(dir, 'weights.json'), JSON.stringify(manifest));
}

function lastJson(stdout: string): EngineResult {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as EngineResult;
}

function runForja(shape: ShapeName, steps: number, dir: string, profile: boolean): EngineResult {
  const args = ['--import', 'tsx', join(HERE, 'train-gpt.ts'), '--child', '--shape', shape, '--steps', String(steps), '--dir', dir, ...(profile ? ['--profile'] : [])];
  return lastJson(execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
}

function runTorch(python: string, dir: string, threads: TorchThreads): EngineResult {
  const args = [join(HERE, 'torch_gpt_train.py'), '--dir', dir, '--threads', String(threads.torch)];
  const result = lastJson(execFileSync(python, args, { encoding: 'utf8', env: torchEnv(threads), stdio: ['ignore', 'pipe', 'inherit'] }));
  return { ...result, engine: `${result.engine} (${torchThreadsLabel(threads)})` };
}

interface Summary {
  result: EngineResult;
  tokensPerSecond: number;
  medianStep: number;
}

function summarise(result: EngineResult, tokensPerStep: number): Summary {
  const timed = result.step_seconds.slice(WARMUP);
  const total = timed.reduce((a, b) => a + b, 0);
  return { result, tokensPerSecond: (timed.length * tokensPerStep) / total, medianStep: median(timed) };
}

function table(rows: Summary[], reference: Summary | undefined): string {
  const header = ['engine', 'median step', 'tokens/s', 'vs PyTorch (best)', 'first loss', 'last loss', 'peak RSS'];
  const cells = rows.map((r) => [
    r.result.engine,
    `${(1000 * r.medianStep).toFixed(1)} ms`,
    Math.round(r.tokensPerSecond).toLocaleString('en-US'),
    reference ? `${(r.tokensPerSecond / reference.tokensPerSecond).toFixed(2)}×` : 'n/a',
    r.result.losses[0]!.toFixed(4),
    r.result.losses.at(-1)!.toFixed(4),
    `${Math.round(r.result.peak_rss_mb)} MB`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

/** Largest |Δloss| over the steps, and where. */
function curveGap(a: readonly number[], b: readonly number[]): { gap: number; step: number } {
  let worst = { gap: 0, step: 0 };
  a.forEach((x, i) => {
    const gap = Math.abs(x - b[i]!);
    if (gap > worst.gap) worst = { gap, step: i };
  });
  return worst;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { child: { type: 'boolean' }, profile: { type: 'boolean' }, shape: { type: 'string' }, steps: { type: 'string' }, dir: { type: 'string' } },
  });
  const profile = values.profile === true;
  const shapes = values.shape ? [values.shape] : Object.keys(SHAPES);
  for (const s of shapes) if (!(s in SHAPES)) throw new Error(`bench:train-gpt: --shape must be one of ${Object.keys(SHAPES).join(', ')}, received ${s}`);
  const stepsOf = (shape: ShapeName): number => (values.steps ? Number.parseInt(values.steps, 10) : SHAPES[shape].steps);
  if (values.child) return benchForja(values.shape as ShapeName, stepsOf(values.shape as ShapeName), values.dir!, profile);

  const python = findTorchPython();
  for (const shape of shapes as ShapeName[]) {
    const steps = stepsOf(shape);
    if (!(steps > WARMUP)) throw new Error(`bench:train-gpt: --steps must be more than the ${WARMUP} warm-up steps, received ${values.steps}`);
    const s = settingsOf(shape, steps);
    const tokens = s.batchSize * s.blockSize;
    console.log(`\n${shape}: ${s.layers} layers, ${s.heads} heads, ${s.embd} wide, block ${s.blockSize}, batch ${s.batchSize}; ${steps} steps (${WARMUP} warm-up), AdamW lr ${s.lr} (${s.warmupSteps} warm-up steps, then cosine), clip ${s.clipNorm}`);
    const dir = mkdtempSync(join(tmpdir(), 'forja-bench-gpt-'));
    try {
      const forja = summarise(runForja(shape, steps, dir, profile), tokens);
      if (profile) {
        console.log(`Forja under the profiler (slower than unprofiled): median step ${(1000 * forja.medianStep).toFixed(1)} ms\n\n${forja.result.profile}`);
        continue;
      }
      const torch = python ? TORCH_THREADS.map((threads) => summarise(runTorch(python, dir, threads), tokens)) : [];
      const best = torch.length ? torch.reduce((a, b) => (a.tokensPerSecond >= b.tokensPerSecond ? a : b)) : undefined;
      console.log(table([forja, ...torch], best));
      if (!best) {
        console.log('PyTorch: not measured (no python3 with `import torch`; apt-get install python3-torch, or set FORJA_PYTHON).');
        continue;
      }
      const { gap, step } = curveGap(forja.result.losses, best.result.losses);
      const tail = (r: EngineResult) => (r.losses.slice(-10).reduce((a, b) => a + b, 0) / Math.min(10, r.losses.length)).toFixed(4);
      console.log(`Forja/PyTorch tokens/s ${(forja.tokensPerSecond / best.tokensPerSecond).toFixed(2)}× (target ≥ 1.2×).`);
      console.log(`Loss curves: at most ${gap.toExponential(2)} apart (step ${step}); mean of the last 10 steps Forja ${tail(forja.result)}, PyTorch ${tail(best.result)}.`);
      console.log(`Step times (ms), Forja: ${forja.result.step_seconds.map((t) => Math.round(1000 * t)).join(', ')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

await main();
