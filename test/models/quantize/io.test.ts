/** The quantized checkpoint format: the documented tensors, a load that gives the same model, and damaged files refused by tensor name. */
import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readSafetensorsHeader, writeSafetensors } from '../../../src/io/safetensors.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import {
  loadCausalLm,
  QuantizedCheckpointError,
  QuantizedModel,
  quantizeCheckpoint,
  quantizedTensors,
  QuantizeSettingError,
  WEIGHTS_FILE,
} from '../../../src/models/quantize/index.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { big, maxAbsDiff } from '../../helpers/causal-lm.js';

const tmp = mkdtempSync(join(tmpdir(), 'forja-quantize-io-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function lastLogits(lm: CausalLM, ids: number[]): Promise<Float32Array> {
  return (await lm.forward({ ids: big(ids), batch: 1, attentionMask: big(ids.map(() => 1)), positionIds: big(ids.map((_, i) => i)) })).logits;
}

describe('quantized checkpoint: llama-tiny, 4 bits, group 16', () => {
  const dir = join(tmp, 'llama-q4');
  let saved: QuantizedModel;
  before(async () => {
    saved = (await quantizeCheckpoint(fixturePath('llama-tiny'), dir, { bits: 4, group_size: 16 })).model;
  });

  test('holds the documented tensors and config, no float weight of a quantized map', async () => {
    const header = await readSafetensorsHeader(join(dir, WEIGHTS_FILE));
    const q = header.tensors.get('model.layers.0.self_attn.k_proj.qweight')!;
    // k_proj: 48 → 2 KV heads × 12 = 24 outputs; 48 / 16 = 3 blocks of 8 bytes.
    assert.deepEqual([q.dtype, q.shape], ['U8', [24, 3, 8]]);
    assert.deepEqual([header.tensors.get('model.layers.0.self_attn.k_proj.scales')!.dtype, header.tensors.get('model.layers.0.self_attn.k_proj.scales')!.shape], ['F32', [24, 3]]);
    assert.deepEqual(header.tensors.get('model.layers.0.self_attn.k_proj.qzeros')!.shape, [24, 2]);
    assert.deepEqual(header.tensors.get('lm_head.qweight')!.shape, [50257, 3, 8]);
    assert.deepEqual([header.tensors.get('model.embed_tokens.weight')!.dtype, header.tensors.get('model.embed_tokens.weight')!.shape], ['F16', [50257, 48]]);
    assert.equal(header.tensors.has('model.layers.0.self_attn.k_proj.weight'), false);
    assert.equal(header.tensors.get('model.norm.weight')!.dtype, 'F32');
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config.quantization_config, { quant_method: 'forja', format: 'MatMulNBits', bits: 4, group_size: 16, sym: false, lm_head: true, embedding: 'float16', modules_to_not_convert: [] });
    assert.ok(statSync(join(dir, 'tokenizer.json')).size > 0);
  });

  test('loads as stored (CausalLM.load) and computes what the model it was saved from computes', async () => {
    const { model } = await loadCausalLm(dir);
    assert.ok(model instanceof QuantizedModel);
    assert.deepEqual([...model.linears.keys()], [...saved.linears.keys()]);
    for (const [name, q] of model.linears) assert.deepEqual(q.data, saved.linears.get(name)!.data, name);
    const fromDisk = await CausalLM.load(dir);
    const inMemory = await CausalLM.fromModel(saved);
    const ids = [464, 2068, 7586, 21831, 18045];
    assert.equal(maxAbsDiff(await lastLogits(fromDisk, ids), await lastLogits(inMemory, ids)), 0);
    await fromDisk.release();
    await inMemory.release();
  });

  test('a loadIn that disagrees with the stored bits is refused', async () => {
    await assert.rejects(loadCausalLm(dir, { loadIn: '8bit' }), (e: Error) => e instanceof QuantizeSettingError && /already quantized to 4 bits/.test(e.message));
  });

  /** A copy of the checkpoint whose weights file is `tensors`. */
  async function damaged(name: string, edit: (t: ReturnType<typeof quantizedTensors>) => void): Promise<string> {
    const out = join(tmp, name);
    await quantizeCheckpoint(fixturePath('llama-tiny'), out, { bits: 4, group_size: 16 });
    const tensors = quantizedTensors(saved);
    edit(tensors);
    await writeSafetensors(join(out, WEIGHTS_FILE), tensors);
    return out;
  }

  test('missing scales are named', async () => {
    const out = await damaged('no-scales', (t) => t.delete('model.layers.1.mlp.down_proj.scales'));
    await assert.rejects(loadCausalLm(out), (e: Error) => e instanceof QuantizedCheckpointError && e.tensor === 'model.layers.1.mlp.down_proj.scales' && /no tensor 'model\.layers\.1\.mlp\.down_proj\.scales' \(the scales of model\.layers\.1\.mlp\.down_proj: F32 \[48, 6\]/.test(e.message));
  });

  test('a misshapen qweight is named with both shapes', async () => {
    const out = await damaged('bad-shape', (t) => t.set('model.layers.0.mlp.up_proj.qweight', { shape: [96, 6], data: new Uint8Array(96 * 6), dtype: 'U8' }));
    await assert.rejects(loadCausalLm(out), /tensor 'model\.layers\.0\.mlp\.up_proj\.qweight' is U8 \[96, 6\], expected U8 \[96, 3, 8\]/);
  });

  test('a tensor the config does not use is refused', async () => {
    const out = await damaged('leftover', (t) => t.set('model.layers.0.mlp.up_proj.weight', { shape: [96, 48], data: new Float32Array(96 * 48) }));
    await assert.rejects(loadCausalLm(out), /unexpected tensor in the checkpoint: 'model\.layers\.0\.mlp\.up_proj\.weight' \[96, 48\]/);
  });

  test('a missing float tensor is named', async () => {
    const out = await damaged('no-norm', (t) => t.delete('model.norm.weight'));
    await assert.rejects(loadCausalLm(out), /no tensor 'model\.norm\.weight'/);
  });

  test('a truncated file names a tensor it cuts', async () => {
    const out = join(tmp, 'truncated');
    await quantizeCheckpoint(fixturePath('llama-tiny'), out, { bits: 4, group_size: 16 });
    const path = join(out, WEIGHTS_FILE);
    truncateSync(path, statSync(path).size - 1000);
    await assert.rejects(loadCausalLm(out), /tensor "[\w.]+": data_offsets \[\d+, \d+\] run past the end of the data section/);
  });

  test('a quantization_config without bits, or of another method, is refused naming the key', async () => {
    const out = join(tmp, 'bad-config');
    await quantizeCheckpoint(fixturePath('llama-tiny'), out, { bits: 8, group_size: 16 });
    const path = join(out, 'config.json');
    const config = JSON.parse(readFileSync(path, 'utf8')) as { quantization_config: Record<string, unknown> };
    const { bits: _, ...rest } = config.quantization_config;
    writeFileSync(path, JSON.stringify({ ...config, quantization_config: rest }));
    await assert.rejects(loadCausalLm(out), (e: Error) => e instanceof QuantizeSettingError && e.key === 'bits' && /has no "bits"/.test(e.message));
    writeFileSync(path, JSON.stringify({ ...config, quantization_config: { ...config.quantization_config, quant_method: 'gptq' } }));
    await assert.rejects(loadCausalLm(out), /quant_method "gptq" is not supported/);
  });
});

describe('quantized checkpoint: gpt2-tiny, 8 bits symmetric, embedding on the head\'s copy', () => {
  test('stores no embedding table and no zero points; loads and generates as saved', async () => {
    const dir = join(tmp, 'gpt2-q8-shared');
    const { model: saved } = await quantizeCheckpoint(fixturePath('gpt2-tiny'), dir, { bits: 8, group_size: 16, sym: true, embedding: 'quantized' });
    const header = await readSafetensorsHeader(join(dir, WEIGHTS_FILE));
    assert.equal(header.tensors.has('transformer.wte.weight'), false);
    assert.equal([...header.tensors.keys()].some((k) => k.endsWith('.qzeros')), false);
    assert.deepEqual(header.tensors.get('transformer.wpe.weight')!.dtype, 'F32');
    const fromDisk = await CausalLM.load(dir);
    const inMemory = await CausalLM.fromModel(saved);
    const ids = [15496, 11, 616, 1438];
    assert.equal(maxAbsDiff(await lastLogits(fromDisk, ids), await lastLogits(inMemory, ids)), 0);
    await fromDisk.release();
    await inMemory.release();
  });
});
