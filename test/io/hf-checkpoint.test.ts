import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHfCheckpoint, NonFiniteWeightsError } from '../../src/io/hf-checkpoint.js';
import { readSafetensors, writeSafetensorsCheckpoint } from '../../src/io/safetensors.js';
import { fixturePath } from '../helpers/fixtures.js';

function tempDir(): string {
  return fs.mkdtempSync(join(tmpdir(), 'forja-ckpt-'));
}

test('gpt2-tiny: config, F32 weights, generation and tokenizer configs', async () => {
  const ckpt = await loadHfCheckpoint(fixturePath('gpt2-tiny'));
  assert.equal(ckpt.dir, fixturePath('gpt2-tiny'));
  assert.equal(ckpt.config.n_embd, 48);
  assert.equal(ckpt.config.model_type, 'gpt2');
  assert.deepEqual(ckpt.weightFiles, ['model.safetensors']);
  const wte = ckpt.weights.get('transformer.wte.weight')!;
  assert.deepEqual(wte.shape, [50257, 48]);
  assert.ok(wte.data instanceof Float32Array);
  assert.ok(!ckpt.weights.has('lm_head.weight'), 'tied embeddings: no lm_head in the file');
  assert.equal(ckpt.generationConfig?.eos_token_id, 50256);
  assert.equal(ckpt.tokenizerConfig?.eos_token, '<|endoftext|>');
});

test('llama-tiny: BF16 weights come back as Float32Array, dtypes keep BF16', async () => {
  const ckpt = await loadHfCheckpoint(fixturePath('llama-tiny'));
  const raw = await readSafetensors(fixturePath('llama-tiny', 'model.safetensors'));
  assert.equal(ckpt.weights.size, raw.size);
  for (const [name, t] of raw) {
    assert.equal(ckpt.dtypes.get(name), 'BF16');
    assert.ok(ckpt.weights.get(name)!.data instanceof Float32Array);
    assert.deepEqual(ckpt.weights.get(name)!.data, t.data);
  }
  const rope = ckpt.config.rope_parameters as { rope_theta: number };
  assert.equal(rope.rope_theta, 10000);
});

test('clip-tiny: F16 weights, no tokenizer or generation config', async () => {
  const ckpt = await loadHfCheckpoint(fixturePath('clip-tiny'), { filter: (name) => name.startsWith('text_model.') });
  assert.ok(ckpt.weights.size > 0);
  for (const name of ckpt.weights.keys()) assert.ok(name.startsWith('text_model.'));
  assert.equal(ckpt.dtypes.get('text_model.embeddings.position_embedding.weight'), 'F16');
  assert.equal(ckpt.generationConfig, undefined);
  assert.equal(ckpt.tokenizerConfig, undefined);
});

test('sharded checkpoint loads the same weights as the single file', async () => {
  const dir = tempDir();
  try {
    const single = await loadHfCheckpoint(fixturePath('gpt2-tiny'));
    fs.copyFileSync(fixturePath('gpt2-tiny', 'config.json'), join(dir, 'config.json'));
    const files = await writeSafetensorsCheckpoint(dir, single.weights, { maxShardBytes: 3_000_000 });
    assert.ok(files.length > 2);
    const sharded = await loadHfCheckpoint(dir);
    assert.equal(sharded.weightFiles[0], 'model.safetensors.index.json');
    assert.equal(sharded.weights.size, single.weights.size);
    for (const [name, t] of single.weights) assert.deepEqual(sharded.weights.get(name), t);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('hub ids go through the cache (offline, prepopulated snapshot)', async () => {
  const cache = tempDir();
  try {
    const snap = join(cache, 'models--forja-test--gpt2-tiny', 'snapshots', 'main');
    fs.mkdirSync(snap, { recursive: true });
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(fixturePath('gpt2-tiny', f), join(snap, f));
    const ckpt = await loadHfCheckpoint('forja-test/gpt2-tiny', { cacheDir: cache, offline: true });
    assert.equal(ckpt.dir, snap);
    assert.equal(ckpt.config.n_layer, 2);
    await assert.rejects(loadHfCheckpoint('forja-test/absent', { cacheDir: cache, offline: true }), /"forja-test\/absent" .* is not cached/);
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
});

test('missing config.json or weights are errors naming the directory', async () => {
  const dir = tempDir();
  try {
    await assert.rejects(loadHfCheckpoint(dir), (err: Error) => {
      assert.ok(err.message.startsWith(`${dir}: no config.json`));
      return true;
    });
    fs.writeFileSync(join(dir, 'config.json'), '{"model_type": "gpt2"}');
    fs.writeFileSync(join(dir, 'pytorch_model.bin'), '');
    await assert.rejects(loadHfCheckpoint(dir), (err: Error) => {
      assert.equal(err.message, `${dir}: no weights: neither model.safetensors nor model.safetensors.index.json (found pytorch_model.bin; convert to safetensors first)`);
      return true;
    });
    fs.writeFileSync(join(dir, 'config.json'), '{oops');
    await assert.rejects(loadHfCheckpoint(dir), /config\.json: not valid JSON/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('non-finite weights are refused at load, naming the first tensor, its count and how many tensors', async () => {
  const dir = tempDir();
  try {
    const good = await loadHfCheckpoint(fixturePath('gpt2-tiny'));
    const names = [...good.weights.keys()];
    const weights = new Map([...good.weights].map(([name, t]) => [name, { shape: t.shape, data: Float32Array.from(t.data) }]));
    weights.get(names[0]!)!.data.fill(Number.NaN, 0, 3);
    weights.get(names[5]!)!.data[7] = Number.NEGATIVE_INFINITY;
    fs.copyFileSync(fixturePath('gpt2-tiny', 'config.json'), join(dir, 'config.json'));
    await writeSafetensorsCheckpoint(dir, weights);
    await assert.rejects(loadHfCheckpoint(dir), (err: unknown) => {
      assert.ok(err instanceof NonFiniteWeightsError, String(err));
      assert.deepEqual([err.tensor, err.count, err.size, err.tensors], [names[0], 3, good.weights.get(names[0]!)!.data.length, 2]);
      assert.match(err.message, new RegExp(`^${dir}: tensor '${names[0]!.replace(/\./g, '\\.')}' holds 3 non-finite values \\(NaN or Inf\\) of \\d+ \\(and 1 more tensor\\)`));
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
