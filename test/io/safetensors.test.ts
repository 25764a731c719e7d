import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bf16ToF32,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  loadF32,
  loadF32Sync,
  parseSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  readSafetensorsHeaderSync,
  readSafetensorsSync,
  readShardedSafetensors,
  serializeSafetensors,
  writeSafetensors,
  writeSafetensorsCheckpoint,
  writeSafetensorsSync,
} from '../../src/io/safetensors.js';
import { fixturePath } from '../helpers/fixtures.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'forja-st-'));
}

// Independent header parse, for checking the reader against raw bytes.
function rawHeader(bytes: Buffer): { n: number; json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> } {
  const n = Number(bytes.readBigUInt64LE(0));
  return { n, json: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) };
}

// Reference F16 decode by the textbook formula (no bit tricks).
function f16Reference(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

test('gpt2-tiny (F32): header, shapes and values match the raw bytes', async () => {
  const path = fixturePath('gpt2-tiny', 'model.safetensors');
  const bytes = readFileSync(path);
  const { n, json } = rawHeader(bytes);
  const tensors = await readSafetensors(path);
  const names = Object.keys(json).filter((k) => k !== '__metadata__');
  assert.equal(tensors.size, names.length);
  const header = await readSafetensorsHeader(path);
  assert.deepEqual(header.metadata, { format: 'pt' });
  assert.equal(header.dataStart, 8 + n);
  const wte = tensors.get('transformer.wte.weight');
  assert.ok(wte);
  assert.equal(wte.dtype, 'F32');
  assert.deepEqual(wte.shape, [50257, 48]);
  assert.ok(wte.data instanceof Float32Array);
  for (const name of names) {
    const t = tensors.get(name)!;
    const info = json[name]!;
    assert.deepEqual(t.shape, info.shape);
    const start = 8 + n + info.data_offsets[0];
    for (const i of [0, 1, t.data.length - 1]) {
      assert.equal(t.data[i], bytes.readFloatLE(start + 4 * i), `${name}[${i}]`);
    }
  }
});

test('llama-tiny (BF16) is upcast to Float32Array exactly', async () => {
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
  assert.ok(f32.get('model.norm.weight')!.data instanceof Float32Array);
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
  // Sync reader and in-memory parser agree with the async one.
  const sync = readSafetensorsSync(path);
  const mem = parseSafetensors(bytes, path);
  for (const [name, t] of tensors) {
    assert.deepEqual(sync.get(name)!.data, t.data);
    assert.deepEqual(mem.get(name)!.data, t.data);
  }
  assert.deepEqual(readSafetensorsHeaderSync(path).tensors, (await readSafetensorsHeader(path)).tensors);
});

test('F16 conversion: every bit pattern, subnormals, inf and NaN', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const f = f16ToF32(all);
  for (let h = 0; h < 65536; h++) {
    const ref = f16Reference(h);
    if (Number.isNaN(ref)) assert.ok(Number.isNaN(f[h]), `0x${h.toString(16)}`);
    else assert.ok(Object.is(f[h], ref), `0x${h.toString(16)}: ${f[h]} vs ${ref}`);
  }
  // Back to F16: exact for every non-NaN pattern, NaN stays NaN.
  const back = f32ToF16(f);
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(f[h]!)) assert.ok((back[h]! & 0x7c00) === 0x7c00 && (back[h]! & 0x3ff) !== 0);
    else assert.equal(back[h], h, `0x${h.toString(16)}`);
  }
  // Round to nearest even, overflow, underflow.
  const cases = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65520, 1e6, 2 ** -25, 2 ** -25 * 1.5, -0, 2 ** -24 * 1.5]);
  assert.deepEqual([...f32ToF16(cases)], [0x3c00, 0x3c02, 0x7bff, 0x7c00, 0x7c00, 0x0000, 0x0001, 0x8000, 0x0002]);
});

test('BF16 conversion: round trip and round to nearest even', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const f = bf16ToF32(all);
  const back = f32ToBf16(f);
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(f[h]!)) assert.ok(Number.isNaN(bf16ToF32(new Uint16Array([back[h]!]))[0]!));
    else assert.equal(back[h], h);
  }
  const bits = new Uint32Array([0x3f808000, 0x3f818000, 0x3f808001, 0x7f7fffff]);
  assert.deepEqual([...f32ToBf16(new Float32Array(bits.buffer))], [0x3f80, 0x3f82, 0x3f81, 0x7f80]);
});

test('write/read round trip: mixed dtypes, scalars, empty tensors, metadata, aligned layout', async () => {
  const dir = tempDir();
  try {
    const p = join(dir, 'mixed.safetensors');
    const half = new Float32Array([1.5, -2, 0.333251953125, 65504]);
    await writeSafetensors(
      p,
      {
        'z.f32': { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
        'a.f16': { shape: [4], data: half, dtype: 'F16' },
        'b.bf16': { shape: [1], data: new Float32Array([3.140625]), dtype: 'BF16' },
        'c.odd_f16': { shape: [3], data: new Float32Array([1, 2, 3]), dtype: 'F16' },
        'i64': { shape: [2], data: new BigInt64Array([-1n, 2n ** 40n]) },
        'i32': { shape: [], data: new Int32Array([-7]) },
        'u8': { shape: [3], data: new Uint8Array([0, 128, 255]) },
        'mask': { shape: [2], data: new Uint8Array([1, 0]), dtype: 'BOOL' },
        'f64': { shape: [1], data: new Float64Array([Math.PI]) },
        'empty': { shape: [0, 3], data: new Float32Array(0) },
      },
      { format: 'pt', note: 'ünïcode' },
    );
    const bytes = readFileSync(p);
    const { n, json } = rawHeader(bytes);
    assert.equal((8 + n) % 8, 0, 'data section starts 8-byte aligned');
    const keys = Object.keys(json);
    assert.equal(keys[0], '__metadata__');
    assert.deepEqual(keys.slice(1), [...keys.slice(1)].sort());
    for (const [name, info] of Object.entries(json)) {
      if (name === '__metadata__') continue;
      const size = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, U8: 1, BOOL: 1 }[info.dtype]!;
      assert.equal(info.data_offsets[0] % size, 0, `${name} is aligned to its element size`);
    }
    const t = await readSafetensors(p);
    assert.deepEqual((await readSafetensorsHeader(p)).metadata, { format: 'pt', note: 'ünïcode' });
    assert.deepEqual(t.get('z.f32'), { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) });
    assert.deepEqual(t.get('a.f16'), { dtype: 'F16', shape: [4], data: half });
    assert.deepEqual(t.get('b.bf16')!.data, new Float32Array([3.140625]));
    assert.deepEqual(t.get('c.odd_f16')!.data, new Float32Array([1, 2, 3]));
    assert.deepEqual(t.get('i64'), { dtype: 'I64', shape: [2], data: new BigInt64Array([-1n, 2n ** 40n]) });
    assert.deepEqual(t.get('i32'), { dtype: 'I32', shape: [], data: new Int32Array([-7]) });
    assert.deepEqual(t.get('u8')!.data, new Uint8Array([0, 128, 255]));
    assert.equal(t.get('mask')!.dtype, 'BOOL');
    assert.deepEqual(t.get('f64')!.data, new Float64Array([Math.PI]));
    assert.deepEqual(t.get('empty'), { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) });
    // loadF32 converts everything, integers included.
    const f = loadF32Sync(p);
    assert.deepEqual(f.get('i64')!.data, new Float32Array([-1, 2 ** 40]));
    assert.deepEqual(f.get('u8')!.data, new Float32Array([0, 128, 255]));
    // Sync writer produces identical bytes.
    const p2 = join(dir, 'mixed2.safetensors');
    writeSafetensorsSync(p2, new Map([['x', { shape: [1], data: new Float32Array([1]) }]]));
    assert.deepEqual(readSafetensorsSync(p2).get('x')!.data, new Float32Array([1]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('filter reads only the selected tensors', async () => {
  const path = fixturePath('gpt2-tiny', 'model.safetensors');
  const t = await readSafetensors(path, { filter: (name) => name.startsWith('transformer.h.1.') });
  assert.ok(t.size > 0);
  for (const name of t.keys()) assert.ok(name.startsWith('transformer.h.1.'));
});

test('F32 from an in-memory buffer: a view when aligned, a copy when not', () => {
  const chunks = serializeSafetensors({ w: { shape: [3], data: new Float32Array([1, 2, 3]) } });
  const file = Buffer.concat(chunks);
  const aligned = new Uint8Array(new ArrayBuffer(file.length));
  aligned.set(file);
  const a = parseSafetensors(aligned).get('w')!;
  assert.equal(a.data.buffer, aligned.buffer, 'aligned: zero-copy view');
  const backing = new Uint8Array(file.length + 1);
  backing.set(file, 1);
  const odd = backing.subarray(1);
  const b = parseSafetensors(odd).get('w')!;
  assert.notEqual(b.data.buffer, backing.buffer, 'unaligned: copied');
  assert.deepEqual(b.data, new Float32Array([1, 2, 3]));
});

function withHeader(header: unknown, dataBytes: number, lengthOverride?: bigint): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  return Buffer.concat([prefix, json, Buffer.alloc(dataBytes)]);
}

test('malformed files give errors naming the file and the tensor', async () => {
  const dir = tempDir();
  try {
    const cases: [string, Buffer, RegExp][] = [
      ['short', Buffer.from([1, 2, 3]), /short\.safetensors: file too short.*3 bytes/],
      ['absurd', withHeader({}, 0, 1n << 40n), /absurd\.safetensors: header length 1099511627776 is absurd/],
      ['notjson', withHeader('{not json', 0), /notjson\.safetensors: safetensors header is not valid UTF-8 JSON/],
      ['dtype', withHeader({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 1), /dtype\.safetensors: tensor "w": unknown dtype "Q4"/],
      ['range', withHeader({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /range\.safetensors: tensor "w": data_offsets \[0, 16\] run past the end of the data section \(8 bytes\)/],
      ['size', withHeader({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, 16), /size\.safetensors: tensor "w": .*span 12 bytes but shape \[2, 2\] × F32 needs 16/],
      [
        'overlap',
        withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12),
        /overlap\.safetensors: tensor "b" bytes \[4, 12\] overlap tensor "a" bytes \[0, 8\]/,
      ],
      ['shape', withHeader({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /shape\.safetensors: tensor "w": shape must be/],
      ['notobj', withHeader('[1,2]', 0), /notobj\.safetensors: safetensors header must be a JSON object/],
    ];
    for (const [name, bytes, re] of cases) {
      const p = join(dir, `${name}.safetensors`);
      writeFileSync(p, bytes);
      await assert.rejects(readSafetensors(p), re, name);
      assert.throws(() => readSafetensorsSync(p), re, name);
    }
    await assert.rejects(readSafetensors(join(dir, 'nope.safetensors')), /nope\.safetensors: cannot open safetensors file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writer rejects bad input with the tensor name', async () => {
  assert.throws(() => serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }), /tensor "w": shape \[2, 2\] has 4 elements but data has 3/);
  assert.throws(() => serializeSafetensors({ w: { shape: [1], data: new Int32Array(1), dtype: 'F32' } }), /tensor "w": dtype F32 cannot be written from Int32Array/);
  assert.throws(() => serializeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } }), /invalid tensor name/);
});

test('sharded checkpoints: write, merge, and clear errors for missing shards or tensors', async () => {
  const dir = tempDir();
  try {
    const tensors = new Map([
      ['a', { shape: [4], data: new Float32Array([1, 2, 3, 4]) }],
      ['b', { shape: [2, 2], data: new Float32Array([5, 6, 7, 8]) }],
      ['c', { shape: [3], data: new Float32Array([9, 10, 11]) }],
    ]);
    const files = await writeSafetensorsCheckpoint(dir, tensors, { maxShardBytes: 20 });
    assert.deepEqual(files, ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json']);
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    assert.equal(index.metadata.total_size, 44);
    assert.equal(index.weight_map.b, 'model-00002-of-00003.safetensors');
    const merged = await readShardedSafetensors(dir);
    assert.equal(merged.size, 3);
    for (const [name, t] of tensors) assert.deepEqual(merged.get(name)!.data, t.data);

    // A tensor mapped to a shard that does not hold it.
    index.weight_map.ghost = 'model-00001-of-00003.safetensors';
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    await assert.rejects(readShardedSafetensors(dir), /tensor "ghost" is mapped to model-00001-of-00003\.safetensors but .* does not contain it/);
    delete index.weight_map.ghost;
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));

    unlinkSync(join(dir, 'model-00002-of-00003.safetensors'));
    await assert.rejects(readShardedSafetensors(dir), /model\.safetensors\.index\.json: shard "model-00002-of-00003\.safetensors" \(holding 1 tensors, e\.g\. "b"\) is missing from/);

    // Fits in one shard: a single model.safetensors.
    const one = join(dir, 'single');
    assert.deepEqual(await writeSafetensorsCheckpoint(one, tensors), ['model.safetensors']);
    assert.deepEqual((await readSafetensorsHeader(join(one, 'model.safetensors'))).metadata, { format: 'pt' });

    await assert.rejects(readShardedSafetensors(join(dir, 'nowhere')), /nowhere\/model\.safetensors\.index\.json: cannot read safetensors index/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
