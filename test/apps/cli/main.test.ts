import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, REPO_ROOT } from '../../helpers/fixtures.js';
import { forja } from '../../helpers/forja-cli.js';

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
