import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, REPO_ROOT } from '../../helpers/fixtures.js';
import { forja, FORJA_SOURCE } from '../../helpers/forja-cli.js';

const scratch = await mkdtemp(join(tmpdir(), 'forja-main-'));
after(() => rm(scratch, { recursive: true, force: true }));

describe('forja (exit codes and version)', () => {
  test('--version and -V print the version in package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const runs = await Promise.all([forja(['--version']), forja(['-V'])]);
    for (const run of runs) {
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `${version}\n`);
    }
  });

  test('an input path that does not exist is a usage error (2) in every command, naming the path', async () => {
    const missing = join(scratch, 'no-such-dir');
    const runs = await Promise.all([
      forja(['sample', missing]),
      forja(['eval', missing]),
      forja(['generate', '--model', missing, 'hi']),
      forja(['export', 'onnx', '--model', missing, '--out', join(scratch, 'out')]),
    ]);
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, `command ${i}: ${run.stderr}`);
      assert.ok(run.stderr.includes(missing), `command ${i} names the path: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    });
  });

  test('an unwritable --out is a usage error (2) naming --out, before any work', async () => {
    const runs = await Promise.all([
      forja(['sample', scratch, '--out', '/sys/x.png']),
      forja(['export', 'onnx', '--model', fixturePath('gpt2-tiny'), '--out', '/sys/forja-export']),
    ]);
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, `command ${i}: ${run.stderr}`);
      assert.match(run.stderr, /^forja: --out \/sys\/\S+: cannot write in \/sys/);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    });
  });

  test('unknown commands and flags are usage errors (2)', async () => {
    const runs = await Promise.all([forja(['frobnicate']), forja(['eval', scratch, '--no-such-flag'])]);
    assert.deepEqual(runs.map((r) => r.code), [2, 2]);
  });
});

/** `forja ...args` from the sources with every module it imports logged (test/helpers/module-log.mjs). */
function forjaModules(args: readonly string[], log: string): Promise<{ code: number; stdout: string; modules: string[] }> {
  const [importFlag, tsx, main] = FORJA_SOURCE;
  const hook = join(REPO_ROOT, 'test/helpers/module-log.mjs');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [importFlag!, tsx!, '--import', hook, main!, ...args],
      { cwd: REPO_ROOT, timeout: 120_000, env: { ...process.env, FORJA_MODULE_LOG: log } },
      (err, stdout) => {
        let modules: string[] = [];
        try {
          modules = readFileSync(log, 'utf8').trim().split('\n');
        } catch {
          // no module logged: the assertions below say so
        }
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, modules });
      },
    );
  });
}

describe('forja (lazy command modules)', () => {
  const heavy = /node_modules\/(onnxruntime-node|sharp|pdfjs-dist|better-sqlite3|@huggingface)\//;

  test('--help lists every command without importing any command module or native library', async () => {
    const [help, train] = await Promise.all([
      forjaModules(['--help'], join(scratch, 'help.log')),
      // The same log for a command that does run: the hook sees what it imports.
      forjaModules(['train', 'autoencoder', '--help'], join(scratch, 'train.log')),
    ]);
    assert.equal(help.code, 0);
    assert.ok(help.modules.some((m) => m.endsWith('/src/apps/cli/main.ts')), `main.ts is in the log: ${help.modules.join(' ')}`);
    assert.deepEqual(help.modules.filter((m) => heavy.test(m) || m.includes('/src/apps/cli/commands/')), []);
    assert.ok(!help.modules.some((m) => m.includes('/src/runtime/') || m.includes('/src/models/')), 'no library model code');
    for (const name of ['train', 'generate', 'rag', 'transcribe', 'embed', 'export']) assert.match(help.stdout, new RegExp(`^  ${name}\\b`, 'm'));

    assert.equal(train.code, 0);
    assert.match(train.stdout, /--epochs/);
    assert.ok(train.modules.some((m) => m.includes('node_modules/onnxruntime-node/')), 'train imports onnxruntime-node');
    assert.ok(!train.modules.some((m) => m.includes('/src/apps/cli/commands/transcribe.ts')), 'train loads only its own command');
    assert.ok(!train.modules.some((m) => m.includes('/src/apps/cli/commands/train-gpt.ts') || m.includes('/src/text/')), 'and only its own subcommand');
  });

  test("each command listed by --help is registered by its line's module (`forja help <command>` shows its own usage)", async () => {
    const help = await forja(['--help']);
    const names = [...help.stdout.matchAll(/^  ([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
    assert.ok(names.length >= 10, `commands listed: ${names.join(', ')}`);
    // A few at a time: each child loads its command's whole stack.
    for (let i = 0; i < names.length; i += 4) {
      const batch = names.slice(i, i + 4);
      const runs = await Promise.all(batch.map((n) => forja(['help', n])));
      runs.forEach((run, j) => {
        assert.equal(run.code, 0, `forja help ${batch[j]}: ${run.stderr}`);
        assert.match(run.stdout, new RegExp(`^Usage: forja ${batch[j]} `), `forja help ${batch[j]}`);
      });
    }
    // `train` comes from two files: both add their models.
    // A subcommand another file adds is listed, and suggested for a misspelt one, without loading that file.
    const [train, autoencoder, gpt, typo] = await Promise.all([
      forja(['train', '--help']), forja(['train', 'autoencoder', '--help']), forja(['train', 'gpt', '--help']), forja(['train', 'gtp']),
    ]);
    for (const model of ['autoencoder', 'gpt']) assert.match(train.stdout, new RegExp(`^  ${model}\\b`, 'm'));
    assert.match(autoencoder.stdout, /^Usage: forja train autoencoder /);
    assert.match(gpt.stdout, /^Usage: forja train gpt .*\n[^]*--data <file>/);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /Did you mean gpt\?/);
  });
});
