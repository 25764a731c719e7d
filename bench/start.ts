/**
 * `npm run bench:start`: how fast `forja` starts, run as users run it (bin/forja.js through its shebang, which sets
 * glibc's hugetlb tunable; the compiled dist/).
 *
 *   forja --help                      median wall time of 5 runs (beside `node -e 0`, the floor)
 *   first training step               of `forja train autoencoder`: cold (empty $FORJA_CACHE) and warm (cached
 *                                     MNIST digits and optimized ONNX models), median of 5 each
 *   whole process                     `forja train autoencoder` (its defaults, warm cache) vs bench/torch_autoencoder.py
 *                                     with the same epochs and batch size on the same 9,000 training digits
 *
 *   --runs N         runs per median (default 5)
 *   --torch-runs N   runs of the whole-process comparison, each engine (default: --runs)
 *   --no-torch       skip the PyTorch comparison
 * Rows print as they are measured.
 * Needs a built dist/ (`npm run build`). Prints a Markdown table for README's "Start-up" section.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mnistSplit } from '../src/data/index.js';
import { mnistModels, VALIDATION_COUNT } from '../src/models/mnist/index.js';
import { median } from './stats.js';
import { findTorchPython, pythonEnv } from './torch-python.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const FORJA = join(HERE, '../bin/forja.js');
const HOOK = join(HERE, 'first-step-hook.mjs');

const { values: flags } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, 'torch-runs': { type: 'string' }, 'no-torch': { type: 'boolean', default: false } },
});
function count(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got ${value}`);
  return n;
}
const RUNS = count('runs', flags.runs);
const TORCH_RUNS = count('torch-runs', flags['torch-runs'] ?? flags.runs);

const scratch = mkdtempSync(join(tmpdir(), 'forja-bench-start-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
// No FORJA_NO_CACHE from the caller's shell: the cache is what is measured.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'FORJA_NO_CACHE'));

/** Wall seconds of one run of `cmd args`, which must succeed. */
function wall(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = baseEnv): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const s = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return s;
}

const timesOf = (n: number, f: () => number): number[] => Array.from({ length: n }, f);

/**
 * Seconds from spawning `forja train autoencoder` to its first session.run; the child is killed there unless
 * `complete` (a run that fills the cache must finish writing it).
 */
function firstStep(cache: string, complete = false, env: NodeJS.ProcessEnv = baseEnv): Promise<number> {
  const out = join(scratch, 'run');
  const args = ['train', 'autoencoder', '--epochs', '1', '--out', out, '--overwrite'];
  const nodeOptions = [env.NODE_OPTIONS, `--import=${HOOK}`].filter(Boolean).join(' ');
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(FORJA, args, { env: { ...env, NODE_OPTIONS: nodeOptions, FORJA_CACHE: cache }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let at: number | undefined;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /first-step-at (\d+)/.exec(stderr);
      if (m && at === undefined) {
        at = Number(m[1]);
        if (!complete) child.kill('SIGKILL');
      }
    });
    child.on('close', (code, signal) => {
      if (at === undefined || (complete && code !== 0)) reject(new Error(`forja train autoencoder: ${signal ?? `exit ${code}`}\n${stderr}`));
      else resolve((at - started) / 1000);
    });
  });
}

const fmt = (s: number) => `${s.toFixed(2)} s`;
const uptime = () => `load average ${loadavg().map((x) => x.toFixed(2)).join(', ')}`;
console.log(`${new Date().toISOString().slice(0, 10)}, median of ${RUNS}; ${uptime()} at the start (2 cores)\n`);
console.log('| what | time | note |\n|---|---|---|');
const row = (...cells: string[]) => console.log(`| ${cells.join(' | ')} |`);

const nodeFloor = median(timesOf(RUNS, () => wall(process.execPath, ['-e', '0'])));
const help = median(timesOf(RUNS, () => wall(FORJA, ['--help'])));
row('`forja --help`', fmt(help), `\`node -e 0\` on the same machine: ${fmt(nodeFloor)}`);
// Node 20 reads and parses NODE_EXTRA_CA_CERTS' bundle before any script runs (~90 ms on this project's machine,
// which sets it), so a shell that sets it pays that on every start; shown apart, without it, when it is set.
const extraCerts = process.env.NODE_EXTRA_CA_CERTS;
const noCertsEnv = Object.fromEntries(Object.entries(baseEnv).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
if (extraCerts) {
  const floor = median(timesOf(RUNS, () => wall(process.execPath, ['-e', '0'], noCertsEnv)));
  const h = median(timesOf(RUNS, () => wall(FORJA, ['--help'], noCertsEnv)));
  row('`forja --help`, NODE_EXTRA_CA_CERTS unset', fmt(h), `\`node -e 0\` without it: ${fmt(floor)} (set here to ${extraCerts})`);
}

const warmCache = mkdtempSync(join(scratch, 'warm-'));
await firstStep(warmCache, true);
// Interleaved, so a change in the machine's load hits both alike.
const cold: number[] = [];
const warm: number[] = [];
const warmNoCerts: number[] = [];
for (let i = 0; i < RUNS; i++) {
  cold.push(await firstStep(mkdtempSync(join(scratch, 'cold-'))));
  warm.push(await firstStep(warmCache));
  if (extraCerts) warmNoCerts.push(await firstStep(warmCache, false, noCertsEnv));
}
row('`forja train autoencoder`: first training step, cold (empty cache)', fmt(median(cold)), `${(median(cold) / median(warm)).toFixed(1)}× the warm start`);
row('`forja train autoencoder`: first training step, warm', fmt(median(warm)), 'decoded MNIST and optimized ONNX models from $FORJA_CACHE');
if (extraCerts) row('`forja train autoencoder`: first training step, warm, NODE_EXTRA_CA_CERTS unset', fmt(median(warmNoCerts)), 'the same cache');

const python = flags['no-torch'] ? null : findTorchPython();
if (python) {
  const spec = mnistModels.autoencoder!;
  const { epochs, batchSize, lr } = spec.defaults;
  const { train } = mnistSplit({ seed: 0, validation: VALIDATION_COUNT });
  const data = join(scratch, 'train.f32');
  writeFileSync(data, train.images);
  const forjaArgs = ['train', 'autoencoder', '--out', join(scratch, 'whole'), '--overwrite'];
  const forja = median(timesOf(TORCH_RUNS, () => wall(FORJA, forjaArgs, { ...baseEnv, FORJA_CACHE: warmCache })));
  const torchArgs = [join(HERE, 'torch_autoencoder.py'), '--data', data, '--epochs', String(epochs), '--batch-size', String(batchSize), '--lr', String(lr)];
  row(`\`forja train autoencoder\`, whole process (${epochs} epochs, batch ${batchSize}, warm cache, median of ${TORCH_RUNS})`, fmt(forja), 'training, validation, loss plot, PNG grid, checkpoints');
  const torch = median(timesOf(TORCH_RUNS, () => wall(python, torchArgs, pythonEnv())));
  row(`bench/torch_autoencoder.py, whole process (same settings and ${train.count} digits, median of ${TORCH_RUNS})`, fmt(torch), `Forja takes ${(forja / torch).toFixed(2)}× PyTorch's time (${python}, training only)`);
} else {
  row('PyTorch comparison', 'not measured', flags['no-torch'] ? '--no-torch' : 'no python3 with `import torch` (set FORJA_PYTHON)');
}

console.log(`\n${uptime()} at the end; cold first steps: ${cold.map(fmt).join(', ')}; warm: ${warm.map(fmt).join(', ')}${extraCerts ? `; warm without NODE_EXTRA_CA_CERTS: ${warmNoCerts.map(fmt).join(', ')}` : ''}`);
