// The published package, as a user gets it: `npm pack` a copy of the repository, install the tarball in a fresh
// consumer project the way README's "Install as a library" says, and use it there through 'forja' only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ExecFileOptions } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fixturePath, REPO_ROOT } from './helpers/fixtures.js';

const execFileAsync = promisify(execFile);

/** execFile that, on failure, says which command failed and shows its output (tsc reports errors on stdout). */
async function run(cmd: string, args: readonly string[], opts: ExecFileOptions): Promise<{ stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(cmd, args, { maxBuffer: 1 << 26, ...opts, encoding: 'utf8' });
    return { stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; signal?: string; stdout?: string; stderr?: string };
    const tail = (s = '') => (s.length > 8000 ? `…${s.slice(-8000)}` : s);
    throw new Error(
      `${cmd} ${args.join(' ')} in ${String(opts.cwd)} failed (${e.signal ?? `exit ${e.code}`}):\n${tail(e.stdout)}\n${tail(e.stderr)}`,
    );
  }
}

// Not copied into the packed tree: installed or generated things, whose stale copies must not reach the tarball.
const NOT_COPIED = new Set(['node_modules', 'dist', 'runs', '.git', '.cache']);

// The parent `npm test` exports npm_* variables (its prefix, its package.json) that would steer the child npms.
const childEnv = (): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))),
  ONNXRUNTIME_NODE_INSTALL: 'skip', // README's consumer story, for npms without allowScripts
});

interface Golden {
  prompts: string[];
  greedy: { input_ids: number[]; output_ids: number[]; text: string }[];
}

let tmp: string;
let consumer: string;
let tarball: string;
let packedFiles: string[];

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'forja-package-'));
  const tree = join(tmp, 'forja');
  cpSync(REPO_ROOT, tree, { recursive: true, filter: (src) => !NOT_COPIED.has(src.slice(REPO_ROOT.length).split('/')[0]!) });
  // prepack's tsc and the type definitions come from the repository's own install.
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(tree, 'node_modules'), 'dir');
  const packed = await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: tree, env: childEnv(), timeout: 240_000 });
  // Lifecycle output (prepack) may precede the JSON.
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
  tarball = join(tmp, info!.filename);
  packedFiles = info!.files.map((f) => f.path);

  consumer = join(tmp, 'consumer');
  cpSync(join(REPO_ROOT, 'test/helpers/package-consumer.mjs'), join(consumer, 'consumer.mjs'));
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', allowScripts: { 'onnxruntime-node': false } }, null, 2),
  );
  // The npm cache serves what it has (all of it after the repository's own `npm ci`); the registry the rest.
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: consumer, env: childEnv(), timeout: 300_000 });
});

after(() => rmSync(tmp, { recursive: true, force: true }));

test('the tarball holds the compiled dist/ and the bin, not the TypeScript sources', () => {
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/cli/plot-worker.js', 'bin/forja.js', 'package.json', 'README.md']) {
    assert.ok(packedFiles.includes(f), `${f} is not in the tarball`);
  }
  const stray = packedFiles.filter((f) => !/^(dist|bin)\//.test(f) && !['package.json', 'README.md', 'LICENSE'].includes(f));
  assert.deepEqual(stray, [], 'files outside dist/ and bin/');
  assert.ok(!packedFiles.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), 'a .ts source is in the tarball');
});

test("a consumer script imports 'forja', trains the seed's autoencoder for one epoch and generates the golden text", async () => {
  const golden = JSON.parse(readFileSync(fixturePath('gpt2-tiny', 'golden.json'), 'utf8')) as Golden;
  const g = golden.greedy[0]!;
  const prompt = golden.prompts[0]!;
  const newTokens = g.output_ids.length - g.input_ids.length;
  const { stdout } = await run(process.execPath, ['consumer.mjs', fixturePath('gpt2-tiny'), prompt, String(newTokens)], {
    cwd: consumer,
    env: childEnv(),
    timeout: 120_000,
  });
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    before: number;
    after: number;
    history: Record<string, number[]>;
    promptIds: number[];
    sequence: number[];
    generated_text: string;
  };
  assert.equal(out.history.loss?.length, 1, `history.loss after one epoch: ${JSON.stringify(out.history.loss)}`);
  assert.ok(Number.isFinite(out.history.loss[0]), `train loss ${out.history.loss[0]}`);
  // Untrained, the sigmoid outputs are near 0.5 (BCE ≈ ln 2); eight Adam steps must bring it down.
  assert.ok(out.before > 0.6 && out.after < out.before - 0.02, `held-out BCE before ${out.before}, after ${out.after}`);
  assert.deepEqual(out.promptIds, g.input_ids);
  assert.deepEqual(out.sequence, g.output_ids);
  assert.equal(out.generated_text, prompt + g.text);
});

test('npx forja --help runs the installed command from dist/', async () => {
  const { stdout } = await run('npx', ['--no-install', 'forja', '--help'], { cwd: consumer, env: childEnv(), timeout: 60_000 });
  assert.match(stdout, /^Usage: forja /m);
  assert.match(stdout, /\bgenerate\b/);
});

test('the installed command (the CLI bundle) trains, writes its plots and knows its version', async () => {
  const out = join(tmp, 'run');
  const { stdout } = await run('npx', ['--no-install', 'forja', 'train', 'autoencoder', '--epochs', '1', '--limit', '600', '--out', out, '--json'], {
    cwd: consumer,
    env: { ...childEnv(), FORJA_NO_CACHE: '1' },
    timeout: 120_000,
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { epochs: number; valLoss: number };
  assert.equal(result.epochs, 1);
  assert.ok(Number.isFinite(result.valLoss), `valLoss ${result.valLoss}`);
  assert.match(readFileSync(join(out, 'loss.svg'), 'utf8'), /^<svg/);
  assert.ok(readFileSync(join(out, 'reconstructions.png')).subarray(1, 4).toString() === 'PNG');
  const version = await run('npx', ['--no-install', 'forja', '--version'], { cwd: consumer, env: childEnv(), timeout: 60_000 });
  assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
});

test("TypeScript resolves the package's types through its exports", async () => {
  writeFileSync(
    join(consumer, 'check.ts'),
    "import { input, layers, model, pipeline, type TextGenerationPipeline } from 'forja';\n" +
      'const inp = input({ shape: [4] });\n' +
      'const m = model({ inputs: inp, outputs: layers.dense({ units: 2 }).apply(inp) });\n' +
      "const p: Promise<TextGenerationPipeline> = pipeline('text-generation', 'dir');\n" +
      'export { m, p };\n',
  );
  const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
  const args = ['--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', 'check.ts'];
  await run(process.execPath, [tsc, ...args], { cwd: consumer, env: childEnv(), timeout: 120_000 });
});
