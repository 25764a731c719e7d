import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsError } from '../../../src/io/safetensors/codecs.js';
import { loadF32, readSafetensors, readSafetensorsHeader } from '../../../src/io/safetensors/reader.js';
import { serializeSafetensors, writeSafetensors, type TensorToWrite } from '../../../src/io/safetensors/writer.js';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'forja-st-write-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function rawHeader(bytes: Buffer): { n: number; json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> } {
  const n = Number(bytes.readBigUInt64LE(0));
  return { n, json: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) };
}

test('write/read round trip: mixed dtypes, scalars, empty tensors, metadata, aligned and sorted layout', async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, 'mixed.safetensors');
    const half = new Float32Array([1.5, -2, 0.333251953125, 65504]);
    await writeSafetensors(
      p,
      {
        'z.f32': { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
        'a.f16': { shape: [4], data: half, dtype: 'F16' },
        'b.bf16': { shape: [1], data: new Float32Array([3.140625]), dtype: 'BF16' },
        'c.odd_f16': { shape: [3], data: new Float32Array([1, 2, 3]), dtype: 'F16' },
        i64: { shape: [2], data: new BigInt64Array([-1n, 2n ** 40n]) },
        i32: { shape: [], data: new Int32Array([-7]) },
        u8: { shape: [3], data: new Uint8Array([0, 128, 255]) },
        mask: { shape: [2], data: new Uint8Array([1, 0]), dtype: 'BOOL' },
        f64: { shape: [1], data: new Float64Array([Math.PI]) },
        empty: { shape: [0, 3], data: new Float32Array(0) },
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
    assert.deepEqual(t.get('mask'), { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) });
    assert.deepEqual(t.get('f64')!.data, new Float64Array([Math.PI]));
    assert.deepEqual(t.get('empty'), { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) });
    const f = await loadF32(p);
    assert.deepEqual(f.get('i64')!.data, new Float32Array([-1, 2 ** 40]));
    assert.deepEqual(f.get('u8')!.data, new Float32Array([0, 128, 255]));
  });
});

test('every record the reader returns (F8 aside) writes back to the same bytes', async () => {
  await withTempDir(async (dir) => {
    const tensors: Record<string, TensorToWrite> = {
      f64: { shape: [2], data: new Float64Array([1e300, -0.5]) },
      f32: { shape: [2], data: new Float32Array([1.25, -3]) },
      f16: { shape: [2], data: new Uint16Array([0x3c00, 0x0001]), dtype: 'F16' },
      bf16: { shape: [2], data: new Uint16Array([0x3f80, 0xff80]), dtype: 'BF16' },
      i64: { shape: [1], data: new BigInt64Array([-(2n ** 62n)]) },
      i32: { shape: [1], data: new Int32Array([-2147483648]) },
      i16: { shape: [2], data: new Int32Array([-32768, 32767]), dtype: 'I16' },
      i8: { shape: [2], data: new Int32Array([-128, 127]), dtype: 'I8' },
      u64: { shape: [1], data: new BigInt64Array([2n ** 63n - 1n]), dtype: 'U64' },
      u32: { shape: [1], data: new BigInt64Array([0xffffffffn]), dtype: 'U32' },
      u16: { shape: [1], data: new Uint16Array([0xffff]), dtype: 'U16' },
      u8: { shape: [1], data: new Uint8Array([200]) },
      bool: { shape: [2], data: new Uint8Array([0, 1]), dtype: 'BOOL' },
    };
    const first = join(dir, 'a.safetensors');
    await writeSafetensors(first, tensors);
    const read = await readSafetensors(first);
    assert.deepEqual([...read.values()].map((t) => t.dtype).sort(), ['BF16', 'BOOL', 'F16', 'F32', 'F64', 'I16', 'I32', 'I64', 'I8', 'U16', 'U32', 'U64', 'U8']);
    const second = join(dir, 'b.safetensors');
    await writeSafetensors(second, read);
    assert.ok(readFileSync(first).equals(readFileSync(second)));
  });
});

test('writes are atomic: an overwrite leaves no temp file, a failed write keeps the old file', async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, 'w.safetensors');
    await writeSafetensors(p, { x: { shape: [1], data: new Float32Array([1]) } });
    await writeSafetensors(p, { x: { shape: [1], data: new Float32Array([2]) } });
    assert.deepEqual(readdirSync(dir), ['w.safetensors']);
    await assert.rejects(writeSafetensors(p, { x: { shape: [2], data: new Float32Array([3]) } }), SafetensorsError);
    assert.deepEqual((await readSafetensors(p)).get('x')!.data, new Float32Array([2]));
    assert.deepEqual(readdirSync(dir), ['w.safetensors']);
  });
});

test('writer rejects bad input with the tensor name', () => {
  const cases: [Record<string, TensorToWrite>, RegExp][] = [
    [{ w: { shape: [2, 2], data: new Float32Array(3) } }, /tensor "w": shape \[2, 2\] has 4 elements but data has 3/],
    [{ w: { shape: [1], data: new Int32Array(1), dtype: 'F32' } }, /tensor "w": dtype F32 cannot be written from Int32Array/],
    [{ w: { shape: [1], data: new Uint16Array(1) } }, /tensor "w": a Uint16Array needs an explicit dtype/],
    [{ w: { shape: [1.5], data: new Float32Array(1) } }, /tensor "w": shape must be non-negative integers, got \[1.5\]/],
    [{ w: { shape: [1], data: new Float32Array(1), dtype: 'F4' as never } }, /tensor "w": unknown dtype "F4"/],
    [{ __metadata__: { shape: [1], data: new Float32Array(1) } }, /invalid tensor name "__metadata__"/],
  ];
  for (const [tensors, re] of cases) {
    assert.throws(() => serializeSafetensors(tensors), (err: unknown) => err instanceof SafetensorsError && re.test(err.message), String(re));
  }
  assert.throws(() => serializeSafetensors({}, { n: 1 as unknown as string }), /metadata "n" must be a string, got number/);
  const asMap = new Map([['a', { shape: [1], data: new Float32Array(1) }]]);
  assert.ok(Buffer.concat(serializeSafetensors(asMap)).equals(Buffer.concat(serializeSafetensors({ a: asMap.get('a')! }))), 'a Map serialises like a record');
});
