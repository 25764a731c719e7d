import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import { register } from '../../../../src/apps/cli/commands/embed.js';
import { CliError } from '../../../../src/apps/cli/errors.js';
import { loadF32 } from '../../../../src/io/safetensors.js';
import { assertClose } from '../../../helpers/causal-lm.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { cliEnv, FORJA_CLI } from '../../../helpers/forja-cli.js';
import { fixtureCopy } from '../../../models/bert/fixture-copy.js';

const MODEL = fixturePath('bert-tiny-embed');
const { sentences } = JSON.parse(readFileSync(fixturePath('bert-tiny-embed', 'golden.json'), 'utf8')) as { sentences: string[] };
const tmp = mkdtempSync(join(tmpdir(), 'forja-cli-embed-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function program(): Command {
  const p = new Command('forja').exitOverride();
  register(p);
  return p;
}

/**
 * Run `forja embed ...args` in this process; returns what it wrote to stdout and stderr. Only
 * strings are captured: the test runner reports to its parent through this process's stdout
 * in binary chunks, which pass through.
 */
async function embed(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [write, writeErr] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
  const capture = (into: string[], original: typeof write) =>
    ((chunk: unknown, ...rest: unknown[]) => (typeof chunk === 'string' ? into.push(chunk) > 0 : (original as (...a: unknown[]) => boolean)(chunk, ...rest))) as typeof write;
  process.stdout.write = capture(out, write);
  process.stderr.write = capture(err, writeErr);
  try {
    await program().parseAsync(['embed', ...args], { from: 'user' });
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
  return { stdout: out.join(''), stderr: err.join('') };
}

const lines = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown);

describe('forja embed', () => {
  let expected: Float32Array;
  before(async () => {
    expected = (await loadF32(fixturePath('bert-tiny-embed', 'golden.safetensors'))).get('sentence_embeddings')!.data;
  });
  // Float32 graph against sentence-transformers' float32 encode: measured 2.8e-7 (test/models/bert/embedder.test.ts).
  const TOL = 2e-6;

  test('prints one JSON vector per text argument, in order', async () => {
    const { stdout } = await embed(['--model', MODEL, sentences[2]!, sentences[0]!]);
    const [a, b] = lines(stdout) as number[][];
    assertClose(a!, expected.subarray(64, 96), TOL, 'first argument');
    assertClose(b!, expected.subarray(0, 32), TOL, 'second argument');
  });

  test('--file reads one text per line, the empty line included; --json adds index, tokens and truncation', async () => {
    const file = join(tmp, 'texts.txt');
    writeFileSync(file, `${sentences.join('\n')}\n`);
    const rows = lines((await embed(['--model', MODEL, '--file', file, '--json'])).stdout) as { index: number; tokens: number; truncated: boolean; embedding: number[] }[];
    assert.deepEqual(rows.map((r) => r.index), [0, 1, 2, 3, 4]);
    assert.deepEqual(rows.map((r) => r.tokens), [12, 14, 20, 4, 2]);
    rows.forEach((r, i) => assertClose(r.embedding, expected.subarray(i * 32, (i + 1) * 32), TOL, `line ${i + 1}`));
    assert.ok(rows.every((r) => !r.truncated));
  });

  test("--query and --prefix choose the text put before each input", async () => {
    const [plain] = lines((await embed(['--model', MODEL, `short ${sentences[0]}`])).stdout) as number[][];
    const [prefixed] = lines((await embed(['--model', MODEL, '--query', '--prefix', 'short ', sentences[0]!])).stdout) as number[][];
    assertClose(prefixed!, plain!, 1e-7, '--prefix');
    const [unprefixed] = lines((await embed(['--model', MODEL, '--query', sentences[0]!])).stdout) as number[][];
    assert.ok(Math.max(...unprefixed!.map((x, i) => Math.abs(x - prefixed![i]!))) > 1e-3, 'the prefix changes the vector');
  });

  test('usage errors (exit 2): no texts, texts and --file, a missing --file, a missing --model', async () => {
    const usage = (re: RegExp) => (e: unknown) => e instanceof CliError && e.exitCode === 2 && re.test(e.message);
    await assert.rejects(embed(['--model', MODEL]), usage(/give texts to embed as arguments, or --file FILE/));
    await assert.rejects(embed(['--model', MODEL, '--file', join(tmp, 'x'), 'text']), usage(/not both/));
    await assert.rejects(embed(['--model', MODEL, '--file', join(tmp, 'missing.txt')]), usage(/--file '.*missing\.txt' does not exist/));
    await assert.rejects(embed(['--model', join(tmp, 'no-such-model'), 'text']), usage(/embed --model .*no-such-model/));
  });

  test('a model that is not sentence-transformers is a failure (exit 1) naming modules.json', async () => {
    await assert.rejects(
      embed(['--model', fixturePath('bert-tiny-cross-encoder'), 'text']),
      (e: unknown) => e instanceof CliError && e.exitCode === 1 && /bert-tiny-cross-encoder\/modules\.json: not found/.test(e.message),
    );
  });

  test('a text longer than the model takes is cut, with a warning on stderr', async () => {
    const copy = fixtureCopy('bert-tiny-embed', { 'sentence_bert_config.json': { max_seq_length: 6 } });
    try {
      const { stdout, stderr } = await embed(['--model', copy.dir, '--json', 'short', sentences[2]!]);
      const rows = lines(stdout) as { tokens: number; truncated: boolean }[];
      assert.deepEqual(rows.map((r) => [r.tokens, r.truncated]), [[4, false], [6, true]]);
      assert.equal(stderr, "forja: warning: text 2 has 20 tokens; only the first 6 (the model's limit) are embedded\n");
    } finally {
      copy.cleanup();
    }
  });

  test('in a child process, reading stdin through --file -', () => {
    const res = spawnSync(process.execPath, [...FORJA_CLI, 'embed', '--model', MODEL, '--file', '-'], { input: 'short\n', encoding: 'utf8', timeout: 120_000, env: cliEnv() });
    assert.equal(res.status, 0, res.stderr);
    const [v] = lines(res.stdout) as number[][];
    assertClose(v!, expected.subarray(96, 128), TOL, 'child process');
  });
});
