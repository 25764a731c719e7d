import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtypeOfData } from '../../../src/core/dtype.js';
import { SafetensorsError } from '../../../src/io/safetensors/codecs.js';
import { loadF32, readSafetensors, readSafetensorsHeader } from '../../../src/io/safetensors/reader.js';
import { writeSafetensors } from '../../../src/io/safetensors/writer.js';
import { fixturePath } from '../../helpers/fixtures.js';

// Independent header parse, for checking the reader against raw bytes.
function rawHeader(bytes: Buffer): { n: number; json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> } {
  const n = Number(bytes.readBigUInt64LE(0));
  return { n, json: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) };
}

// Reference F16 decode by the textbook formula.
function f16Reference(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'forja-st-read-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('gpt2-tiny (F32): header, shapes and values match the raw bytes', async () => {
  const path = fixturePath('gpt2-tiny', 'model.safetensors');
  const bytes = readFileSync(path);
  const { n, json } = rawHeader(bytes);
  const tensors = await readSafetensors(path);
  const names = Object.keys(json).filter((k) => k !== '__metadata__');
  assert.deepEqual([...tensors.keys()], [...(await readSafetensorsHeader(path)).tensors.keys()], 'map order = header order');
  assert.equal(tensors.size, names.length);
  const header = await readSafetensorsHeader(path);
  assert.deepEqual(header.metadata, { format: 'pt' });
  assert.equal(header.dataStart, 8 + n);
  const wte = tensors.get('transformer.wte.weight')!;
  assert.equal(wte.dtype, 'F32');
  assert.deepEqual(wte.shape, [50257, 48]);
  assert.ok(wte.data instanceof Float32Array);
  for (const name of names) {
    const t = tensors.get(name)!;
    const info = json[name]!;
    assert.deepEqual(t.shape, info.shape);
    const start = 8 + n + info.data_offsets[0];
    for (const i of [0, 1, t.data.length - 1]) assert.equal(t.data[i], bytes.readFloatLE(start + 4 * i), `${name}[${i}]`);
  }
});

test('llama-tiny (BF16) is upcast to Float32Array exactly; loadF32 agrees', async () => {
  const path = fixturePath('llama-tiny', 'model.safetensors');
  const bytes = readFileSync(path);
  const { n, json } = rawHeader(bytes);
  const tensors = await readSafetensors(path);
  const emb = tensors.get('model.embed_tokens.weight')!;
  assert.equal(emb.dtype, 'BF16');
  assert.ok(emb.data instanceof Float32Array);
  assert.deepEqual(emb.shape, [50257, 48]);
  const start = 8 + n + json['model.embed_tokens.weight']!.data_offsets[0];
  const tmp = Buffer.alloc(4);
  for (const i of [0, 7, 1000, emb.data.length - 1]) {
    tmp.writeUInt32LE((bytes.readUInt16LE(start + 2 * i) << 16) >>> 0);
    assert.equal(emb.data[i], tmp.readFloatLE(0));
  }
  const f32 = await loadF32(path);
  assert.equal(f32.size, tensors.size);
  assert.deepEqual(f32.get('model.embed_tokens.weight')!.data, emb.data);
});

test('clip-tiny (F16, odd offsets) is upcast to Float32Array exactly', async () => {
  const path = fixturePath('clip-tiny', 'model.safetensors');
  const bytes = readFileSync(path);
  const { n, json } = rawHeader(bytes);
  const tensors = await readSafetensors(path);
  for (const [name, info] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    const t = tensors.get(name)!;
    assert.equal(t.dtype, 'F16');
    assert.ok(t.data instanceof Float32Array);
    const start = 8 + n + info.data_offsets[0];
    for (let i = 0; i < t.data.length; i += Math.max(1, Math.floor(t.data.length / 7))) {
      assert.equal(t.data[i], f16Reference(bytes.readUInt16LE(start + 2 * i)), `${name}[${i}]`);
    }
  }
  assert.deepEqual(tensors.get('logit_scale')!.shape, []);
});

test('a U16 tensor is never read as float16, nor an F16 tensor as integers', async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, 'u16.safetensors');
    const bits = new Uint16Array([0x3c00, 0xc000, 0xffff]); // 1, -2, NaN as F16; 15360, 49152, 65535 as U16
    await writeSafetensors(p, { u: { shape: [3], data: bits, dtype: 'U16' }, h: { shape: [3], data: bits, dtype: 'F16' } });
    const t = await readSafetensors(p);
    const u = t.get('u')!;
    assert.equal(u.dtype, 'U16');
    assert.deepEqual([...u.data], [15360, 49152, 65535]);
    assert.equal(dtypeOfData(u.data), 'int32', 'no Uint16Array leaves the reader, so core cannot take it for float16');
    const h = t.get('h')!;
    assert.equal(h.dtype, 'F16');
    assert.deepEqual([...h.data].slice(0, 2), [1, -2]);
    assert.ok(Number.isNaN(h.data[2] as number));
    assert.equal(dtypeOfData(h.data), 'float32');
    assert.deepEqual([...(await loadF32(p)).get('u')!.data], [15360, 49152, 65535]);
  });
});

test('filter reads only the selected tensors', async () => {
  const path = fixturePath('gpt2-tiny', 'model.safetensors');
  const seen: string[] = [];
  const t = await readSafetensors(path, {
    filter: (name, info) => {
      seen.push(`${name}:${info.dtype}`);
      return name.startsWith('transformer.h.1.');
    },
  });
  assert.ok(t.size > 0);
  for (const name of t.keys()) assert.ok(name.startsWith('transformer.h.1.'));
  assert.equal(seen.length, (await readSafetensorsHeader(path)).tensors.size, 'the filter sees every tensor once');
});

test('bad files: SafetensorsError naming the file', async () => {
  await withTempDir(async (dir) => {
    const short = join(dir, 'short.safetensors');
    writeFileSync(short, Buffer.from([1, 2, 3]));
    await assert.rejects(readSafetensors(short), (err: unknown) => err instanceof SafetensorsError && /short\.safetensors: file too short.*3 bytes/.test(err.message));
    const bad = join(dir, 'bad.safetensors');
    const json = Buffer.from(JSON.stringify({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(bad, Buffer.concat([len, json, Buffer.alloc(1)]));
    await assert.rejects(readSafetensorsHeader(bad), /bad\.safetensors: tensor "w": unknown dtype "Q4"/);
    // A header that promises more bytes than the file holds.
    const cut = join(dir, 'cut.safetensors');
    const full = readFileSync(fixturePath('gpt2-tiny', 'model.safetensors'));
    writeFileSync(cut, full.subarray(0, 4000));
    await assert.rejects(readSafetensors(cut), /cut\.safetensors: tensor ".*": data_offsets .* run past the end of the data section/);
    await assert.rejects(readSafetensors(join(dir, 'nope.safetensors')), /nope\.safetensors: cannot open safetensors file/);
  });
});
