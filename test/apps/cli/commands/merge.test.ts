import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '../../../helpers/fixtures.js';
import { forja, lastJsonLine } from '../../../helpers/forja-cli.js';

const BASE = fixturePath('gpt2-tiny');
const ADAPTER = fixturePath('gpt2-tiny-lora');
const scratch = await mkdtemp(join(tmpdir(), 'forja-merge-'));
after(() => rm(scratch, { recursive: true, force: true }));

const GREEDY = ['--greedy', '--max-new-tokens', '8', '--json', 'Once upon a time'];
const ids = (stdout: string): number[] => lastJsonLine(stdout).token_ids as number[];

describe('forja merge', () => {
  test('writes an HF checkpoint whose greedy output is that of the base with the adapter unmerged', async () => {
    const out = join(scratch, 'merged');
    const merge = await forja(['merge', '--model', BASE, '--adapter', ADAPTER, '--out', out, '--json']);
    assert.equal(merge.code, 0, merge.stderr);
    const files = await readdir(out);
    for (const file of ['config.json', 'model.safetensors', 'generation_config.json', 'tokenizer.json', 'vocab.json', 'merges.txt']) assert.ok(files.includes(file), `${file} in ${files.join(', ')}`);
    assert.ok(!files.some((f) => f.startsWith('adapter_')));
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    const baseConfig = JSON.parse(readFileSync(join(BASE, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config.architectures, baseConfig.architectures);
    assert.equal(config.n_embd, baseConfig.n_embd);

    const [base, adapted, merged] = await Promise.all([
      forja(['generate', '--model', BASE, ...GREEDY]),
      forja(['generate', '--model', BASE, '--adapter', ADAPTER, ...GREEDY]),
      forja(['generate', '--model', out, ...GREEDY]),
    ]);
    for (const run of [base, adapted, merged]) assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(ids(merged.stdout), ids(adapted.stdout));
    assert.notDeepEqual(ids(adapted.stdout), ids(base.stdout), 'the adapter changes what the model generates');
  });

  test('refuses an --out that is an input (exit 2) and a directory that is not an adapter (exit 1), writing nothing', async () => {
    const before = (await readdir(ADAPTER)).sort();
    for (const out of [BASE, ADAPTER]) {
      const run = await forja(['merge', '--model', BASE, '--adapter', ADAPTER, '--out', out, '--overwrite']);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /--out .* would overwrite it/);
    }
    assert.deepEqual((await readdir(ADAPTER)).sort(), before);
    const notAdapter = await forja(['merge', '--model', BASE, '--adapter', BASE, '--out', join(scratch, 'x')]);
    assert.equal(notAdapter.code, 1, notAdapter.stderr);
    assert.match(notAdapter.stderr, /no adapter_config\.json/);
    const missing = await forja(['merge', '--model', BASE, '--adapter', join(scratch, 'nope'), '--out', join(scratch, 'y')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--adapter .*nope' does not exist/);
  });
});
