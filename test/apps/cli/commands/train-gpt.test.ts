import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Rng } from '../../../../src/core/rng.js';
import { readLmRun } from '../../../../src/models/lm/checkpoint.js';
import { REPO_ROOT } from '../../../helpers/fixtures.js';
import { cliEnv, forja, FORJA_CLI, lastJsonLine, type CliRun } from '../../../helpers/forja-cli.js';
import { rewriteAsLegacyGptRun } from '../../../helpers/legacy-gpt-run.js';

const scratch = await mkdtemp(join(tmpdir(), 'forja-train-gpt-'));
after(() => rm(scratch, { recursive: true, force: true }));
const TEXT = 'to be, or not to be, that is the question.\n'.repeat(40);
const data = join(scratch, 'tiny.txt');
await writeFile(data, TEXT);
const dirFor = (name: string): string => join(scratch, name);
// Each run takes a second or two: 1 layer, 16 wide, 40 steps, an evaluation (and checkpoint) every 10.
const TINY = ['--layers', '1', '--heads', '2', '--embd', '16', '--block-size', '16', '--batch-size', '4', '--steps', '40', '--eval-interval', '10', '--eval-batches', '1', '--sample-tokens', '8', '--threads', '1'];
const gpt = (out: string, ...extra: string[]): string[] => ['train', 'gpt', '--data', data, ...TINY, '--out', out, ...extra];

/** `forja ...args` as a child we can signal; `until(re)` resolves once its stderr matches. */
function spawnForja(args: readonly string[]) {
  const child = spawn(process.execPath, [...FORJA_CLI, ...args], { cwd: REPO_ROOT, env: cliEnv() });
  let stdout = '';
  let stderr = '';
  let waiting: { re: RegExp; resolve: () => void } | undefined;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (waiting?.re.test(stderr)) waiting.resolve();
  });
  const done = new Promise<CliRun & { signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr })));
  const until = (re: RegExp): Promise<void> =>
    new Promise((resolve, reject) => {
      if (re.test(stderr)) return resolve();
      waiting = { re, resolve };
      void done.then(() => reject(new Error(`exited before stderr matched ${re}:\n${stderr}`)));
    });
  return { child, done, until };
}

const weights = (dir: string): Promise<Buffer> => readFile(join(dir, 'model.safetensors'));

describe('forja train gpt', () => {
  const straight = dirFor('straight');
  let report: Record<string, unknown>;

  before(async () => {
    const run = await forja(gpt(straight, '--json'));
    assert.equal(run.code, 0, run.stderr);
    report = lastJsonLine(run.stdout);
    assert.match(run.stderr, /step 10: train_loss: \d\.\d{4} - val_loss: \d\.\d{4}/);
    assert.match(run.stderr, /step 40: checkpoint written to /);
  });

  test('--json: one JSON line in camelCase whose tokens/s follows from its own figures', () => {
    assert.deepEqual(Object.keys(report).sort(), ['architecture', 'interrupted', 'out', 'parameters', 'sample', 'seconds', 'startStep', 'steps', 'tokensPerSecond', 'trainLoss', 'trainingSeconds', 'valLoss']);
    assert.deepEqual([report.architecture, report.steps, report.startStep, report.interrupted, report.out], ['gpt2', 40, 0, false, straight]);
    const tokens = 40 * 4 * 16;
    assert.ok(Math.abs((report.tokensPerSecond as number) * (report.trainingSeconds as number) - tokens) < 1e-6 * tokens);
    assert.ok((report.trainingSeconds as number) < (report.seconds as number));
    // 40 steps of a 16-wide model barely leave the uniform guess over the vocabulary.
    assert.ok(Math.abs((report.valLoss as number) - Math.log(new Set(TEXT).size)) < 0.6);
    assert.ok([...(report.sample as string)].every((c) => TEXT.includes(c)), `sample ${JSON.stringify(report.sample)} uses characters outside the text`);
  });

  test('the run directory is a GPT2LMHeadModel forja generate loads', async () => {
    const config = JSON.parse(await readFile(join(straight, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([config.architectures, config.n_layer, config.n_embd, config.n_positions], [['GPT2LMHeadModel'], 1, 16, 16]);
    const gen = await forja(['generate', '--model', straight, 'to be', '--max-new-tokens', '6', '--seed', '3', '--json']);
    assert.equal(gen.code, 0, gen.stderr);
    const generated = lastJsonLine(gen.stdout);
    assert.equal(generated.new_tokens, 6);
    assert.equal((generated.generated_text as string).length, 'to be'.length + 6); // one character per token
  });

  test('--arch llama trains a LlamaForCausalLM that forja generate loads', async () => {
    const dir = dirFor('llama');
    const run = await forja(gpt(dir, '--arch', 'llama', '--steps', '20', '--json'));
    assert.equal(run.code, 0, run.stderr);
    const r = lastJsonLine(run.stdout);
    assert.deepEqual([r.architecture, r.steps], ['llama', 20]);
    assert.ok((r.valLoss as number) < Math.log(new Set(TEXT).size), 'it learned something');
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([config.architectures, config.model_type, config.hidden_size, config.intermediate_size, config.max_position_embeddings], [['LlamaForCausalLM'], 'llama', 16, 64, 16]);
    const gen = await forja(['generate', '--model', dir, 'to be', '--max-new-tokens', '5', '--greedy', '--json']);
    assert.equal(gen.code, 0, gen.stderr);
    assert.equal(lastJsonLine(gen.stdout).new_tokens, 5);
  });

  test('Ctrl-C saves, says how to resume and exits 130; resuming ends bit-identical to the uninterrupted run', async () => {
    const dir = dirFor('sigint');
    const run = spawnForja(gpt(dir));
    await run.until(/step 10: checkpoint written/);
    run.child.kill('SIGINT');
    const stopped = await run.done;
    assert.equal(stopped.code, 130, stopped.stderr);
    const m = /interrupted after step (\d+); the checkpoint in .*sigint holds it; resume with: forja (.*)$/m.exec(stopped.stderr);
    assert.ok(m, stopped.stderr);
    const at = Number(m[1]);
    assert.ok(at >= 10 && at < 40, `stopped at ${at}`);
    assert.equal((await readLmRun(dir))!.position.globalStep, at, 'the checkpoint holds the step it stopped at');
    assert.match(m[2]!, / --resume$/);
    const resumed = await forja(['train', 'gpt', '--data', data, '--out', dir, '--resume', '--threads', '1', '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual([lastJsonLine(resumed.stdout).startStep, lastJsonLine(resumed.stdout).steps], [at, 40]);
    assert.ok((await weights(dir)).equals(await weights(straight)), 'model.safetensors differs from the uninterrupted run');
  });

  test('killed outright, the run resumes from its last evaluation and ends bit-identical', async () => {
    const dir = dirFor('sigkill');
    const run = spawnForja(gpt(dir));
    await run.until(/step 10: checkpoint written/);
    run.child.kill('SIGKILL');
    const killed = await run.done;
    assert.equal(killed.signal, 'SIGKILL');
    const saved = (await readLmRun(dir))!.position.globalStep;
    assert.ok(saved % 10 === 0 && saved < 40, `the last checkpoint is an evaluation's, before the end: ${saved}`);
    const resumed = await forja(['train', 'gpt', '--data', data, '--out', dir, '--resume', '--threads', '1']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok((await weights(dir)).equals(await weights(straight)), 'model.safetensors differs from the uninterrupted run');
  });

  test('a run saved in the old format (trainer_state.json) resumes', async () => {
    const dir = dirFor('legacy');
    const run = spawnForja(gpt(dir));
    await run.until(/step 20: checkpoint written/);
    run.child.kill('SIGKILL');
    await run.done;
    await rewriteAsLegacyGptRun(dir);
    const resumed = await forja(['train', 'gpt', '--data', data, '--out', dir, '--resume', '--threads', '1']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok((await weights(dir)).equals(await weights(straight)), 'model.safetensors differs from the uninterrupted run');
  });

  test('an existing run is only continued with --resume, and only with its settings', async () => {
    const runs = await Promise.all([
      forja(gpt(straight)),
      forja(['train', 'gpt', '--data', data, '--out', straight, '--resume']),
      forja(['train', 'gpt', '--data', data, '--out', straight, '--resume', '--embd', '32']),
      forja(['train', 'gpt', '--data', data, '--out', straight, '--resume', '--arch', 'llama']),
      forja(['train', 'gpt', '--data', data, '--out', straight, '--resume', '--overwrite']),
    ]);
    const expected = [
      /--out .*straight already holds a gpt run: pass --resume to continue it or --overwrite to start again/,
      /already finished its 40 steps/,
      /--resume: --embd 32 differs from the run in .*straight \(--embd 16\); drop --embd/,
      /--resume: --arch llama differs from the run in .*straight \(--arch gpt2\)/,
      /--overwrite and --resume cannot be combined/,
    ];
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, `${expected[i]}: ${run.stderr}`);
      assert.match(run.stderr, expected[i]!);
    });
  });

  test('--out must be empty, a run, or overwritten; and writable before any training', async () => {
    const foreign = dirFor('hub-copy');
    await mkdir(foreign, { recursive: true });
    await writeFile(join(foreign, 'vocab.json'), '{}');
    const [refused, empty, unwritable] = await Promise.all([forja(gpt(foreign)), forja(gpt('')), forja(gpt('/sys/forja-run'))]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--out .*hub-copy is not empty and does not hold a gpt run that can be resumed: pass --overwrite/);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /--out must not be empty/);
    assert.equal(unwritable.code, 2);
    assert.match(unwritable.stderr, /--out \/sys\/forja-run: cannot write in \/sys/);
    const overwritten = await forja(gpt(foreign, '--steps', '10', '--overwrite'));
    assert.equal(overwritten.code, 0, overwritten.stderr);
    assert.deepEqual((await readLmRun(foreign))!.position.globalStep, 10);
  });

  test('bad flags and sizes beyond what the data or the machine allow exit 2 and name the flag', async () => {
    // Each flag's parser and each setting check has its own unit test; these check that the CLI names the flag.
    const cases: [string[], RegExp][] = [
      [['--steps', '0'], /--steps must be a positive integer, got '0'/],
      [['--embd', '30', '--heads', '4'], /--embd 30 must be divisible by --heads 4/],
      [['--arch', 'gpt3'], /--arch <name>' argument 'gpt3' is invalid. Allowed choices are gpt2, llama/],
      [['--tokenizer', join(scratch, 'nope')], /--tokenizer .*nope: expected 'char', 'gpt2' or a tokenizer directory/],
      [['--batch-size', '1e9'], /--batch-size 1000000000 × --block-size 128 .* GiB per training step, more than the 8\.0 GiB allowed; lower --batch-size or --block-size/],
      [['--block-size', '100000'], /--block-size 100000 needs windows of 100001 tokens, but the validation split of --data has only \d+ tokens/],
      [['--threads', '1000'], /--threads must be at most \d+ \(the cores this machine has\), got '1000'/],
    ];
    const runs = await Promise.all(cases.map(([flags]) => forja(['train', 'gpt', '--data', data, '--out', dirFor('bad'), ...flags])));
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, `${cases[i]![0].join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, cases[i]![1]);
    });
    const noData = await forja(['train', 'gpt', '--out', dirFor('bad')]);
    assert.equal(noData.code, 2);
    assert.match(noData.stderr, /required option '--data <file>' not specified/);
    const missing = await forja(['train', 'gpt', '--data', join(scratch, 'missing.txt'), '--out', dirFor('bad')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--data: cannot read text file .*missing\.txt/);
  });

  test('--data that is not text is trained on with a warning; text gets none, and a summary line', async () => {
    const rng = new Rng(3);
    const noise = join(scratch, 'noise.bin');
    await writeFile(noise, Buffer.from(Array.from({ length: 4000 }, () => rng.int(256))));
    const run = await forja(['train', 'gpt', '--data', noise, ...TINY, '--steps', '2', '--eval-interval', '2', '--out', dirFor('noise'), '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /warning: --data .*noise\.bin does not look like text: [\d.]+% of its [\d,]+ characters are invalid UTF-8 \([\d,]+\) or control characters/);
    const clean = await forja(['train', 'gpt', '--data', data, ...TINY, '--steps', '4', '--eval-interval', '2', '--out', dirFor('clean')]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.doesNotMatch(clean.stderr, /warning/);
    // Without --json, one summary line whose tokens/s follows from its own figures.
    const m = /^gpt2, [\d,]+ parameters: 4 steps in [\d.]+ s; the 4 training steps took ([\d.]+) s: 256 tokens, ([\d,]+) tokens\/s - train_loss: \d\.\d{4} - val_loss: \d\.\d{4}$/m.exec(clean.stdout);
    assert.ok(m, clean.stdout);
    assert.match(clean.stdout, /^wrote .*clean$/m);
  });
});
