import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { cliEnv, forja, FORJA_CLI } from '../../../helpers/forja-cli.js';
import { REPO_ROOT } from '../../../helpers/fixtures.js';
import { CHAT_MODEL, chatModelDir } from '../../server/helpers.js';

describe('forja serve', () => {
  let root: string;
  let dir: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'forja-serve-cli-'));
    dir = chatModelDir(root);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('prints its URL, serves with the key, and on Ctrl-C lets the stream in flight finish, then exits 0', async () => {
    const child = spawn(process.execPath, [...FORJA_CLI, 'serve', '--model', dir, '--port', '0', '--api-key', 'k1', '--admission-window-ms', '0'], { cwd: REPO_ROOT, env: cliEnv() });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\/v1 \(models: gpt2-tiny-chat\); Bearer key required/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      void exited.then((code) => reject(new Error(`exited ${code} before listening: ${stderr}`)));
    });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k1', maxRetries: 0 });
    const r = await client.completions.create({ model: CHAT_MODEL, prompt: 'Hi', max_tokens: 3 });
    assert.equal(r.usage!.completion_tokens, 3);
    await assert.rejects(new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k2', maxRetries: 0 }).models.list(), OpenAI.AuthenticationError);
    const stream = await client.completions.create({ model: CHAT_MODEL, prompt: 'Once', max_tokens: 60, stream: true, stream_options: { include_usage: true } });
    let signalled = false;
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      if (!signalled) {
        child.kill('SIGINT');
        signalled = true;
      }
      if (chunk.usage) usage = chunk.usage;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'length');
    assert.equal(usage?.completion_tokens, 60);
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /stopping; finishing 1 running and 0 queued requests/);
    assert.match(stderr, /forja serve: stopped/);
  });

  test('bad flags name themselves and exit 2', async () => {
    const none = await forja(['serve']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give at least one model to serve: --model/);
    const port = await forja(['serve', '--model', dir, '--port', 'abc']);
    assert.equal(port.code, 2);
    assert.match(port.stderr, /--port must be a non-negative integer, got 'abc'/);
    const window = await forja(['serve', '--model', dir, '--admission-window-ms', '5000']);
    assert.equal(window.code, 2);
    assert.match(window.stderr, /--admission-window-ms must be a number in \[0, 1000\], got '5000'/);
    const spec = await forja(['serve', '--model', `${dir}:`]);
    assert.equal(spec.code, 2);
    assert.match(spec.stderr, /--model .* is not DIR\|ID or DIR\|ID:ADAPTER_DIR/);
  });
});
