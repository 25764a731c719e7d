/**
 * The GGUF reader on files written by test/helpers/gguf-writer.ts: every
 * metadata type and tensor info read back, and damaged files refused with
 * the key or tensor named.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { GgufFormatError, GgufMetadataError, GgufTensorTypeError } from '../../../src/io/gguf/errors.js';
import { GgufMetadata } from '../../../src/io/gguf/metadata.js';
import { readGgufHeader, readTensorBytes } from '../../../src/io/gguf/reader.js';
import { arr, bool, f32, serializeGguf, str, u32, writeGguf, type WriterTensor } from '../../helpers/gguf-writer.js';

describe('GGUF reader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forja-gguf-reader-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const tensors: WriterTensor[] = [
    { name: 'a', dims: [3], type: 0, data: new Uint8Array(new Float32Array([1, 2, 3]).buffer) },
    { name: 'b.weight', dims: [32, 2], type: 8, data: new Uint8Array(2 * 34).map((_, i) => i) },
  ];
  const metadata = {
    'general.architecture': str('llama'),
    'x.u32': u32(7),
    'x.f32': f32(0.5),
    'x.bool': bool(true),
    'x.i64': { type: 'i64', value: -5n },
    'x.u64big': { type: 'u64', value: 2n ** 60n },
    'x.f64': { type: 'f64', value: 1.25 },
    'x.i8': { type: 'i8', value: -3 },
    'x.strings': arr('string', ['é', 'b c', '']),
    'x.ints': arr('i32', [1, -2, 3]),
  } as const;
  const file = (name: string, bytes: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };

  test('reads every metadata type, tensor infos and data at a custom alignment', async () => {
    const path = file('ok.gguf', serializeGguf(metadata, tensors, { alignment: 64 }));
    const f = await readGgufHeader(path);
    assert.equal(f.version, 3);
    assert.equal(f.alignment, 64);
    assert.equal(f.dataStart % 64, 0);
    assert.deepEqual(Object.fromEntries([...f.metadata].filter(([k]) => k.startsWith('x.'))), {
      'x.u32': 7, 'x.f32': 0.5, 'x.bool': true, 'x.i64': -5, 'x.u64big': 2n ** 60n, 'x.f64': 1.25, 'x.i8': -3, 'x.strings': ['é', 'b c', ''], 'x.ints': [1, -2, 3],
    });
    assert.deepEqual(f.tensors.map((t) => [t.name, t.dims, t.typeName, t.offset, t.byteLength]), [['a', [3], 'F32', 0, 12], ['b.weight', [32, 2], 'Q8_0', 64, 68]]);
    assert.deepEqual(await readTensorBytes(f, f.tensors[1]!), tensors[1]!.data);
    const meta = new GgufMetadata(f);
    assert.equal(meta.int('x.u32'), 7);
    assert.throws(() => meta.int('x.missing', 'the thing'), (e: unknown) => e instanceof GgufMetadataError && e.key === 'x.missing' && /no metadata key 'x\.missing' \(the thing\)/.test(e.message));
    assert.throws(() => meta.string('x.u32'), (e: unknown) => e instanceof GgufMetadataError && /'x\.u32' must be a string, got 7/.test(e.message));
  });

  test('a file cut short names the tensor (in the data) or the key (in the metadata)', async () => {
    const whole = serializeGguf(metadata, tensors);
    await assert.rejects(readGgufHeader(file('cut-data.gguf', whole.subarray(0, whole.length - 40))), (e: unknown) => e instanceof GgufFormatError && e.tensor === 'b.weight' && /cut short: tensor 'b\.weight' \(Q8_0 \[32, 2\]\) ends at byte/.test(e.message));
    const at = whole.indexOf(Buffer.from('x.strings')) + 20;
    await assert.rejects(readGgufHeader(file('cut-meta.gguf', whole.subarray(0, at))), /cut short: .*metadata key 'x\.strings'/);
  });

  test("a tensor_count that disagrees with the tensor infos is refused", async () => {
    await assert.rejects(readGgufHeader(file('more.gguf', serializeGguf(metadata, tensors, { tensorCount: 3 }))), (e: unknown) => e instanceof GgufFormatError && /tensor_count is 3, but tensor info 2 after tensor 'b\.weight' does not read/.test(e.message));
    await assert.rejects(readGgufHeader(file('fewer.gguf', serializeGguf(metadata, tensors, { tensorCount: 1 }))), /bytes follow the last tensor's data: the header's tensor_count \(1\) may be smaller/);
  });

  test('bad magic, other versions, unknown tensor types and misaligned offsets are refused', async () => {
    const good = serializeGguf(metadata, tensors);
    await assert.rejects(readGgufHeader(file('magic.gguf', Buffer.concat([Buffer.from('GGML'), good.subarray(4)]))), /not a GGUF file/);
    await assert.rejects(readGgufHeader(file('v1.gguf', serializeGguf(metadata, tensors, { version: 1 }))), /version 1 is not supported.*convert the model again/);
    const bad = [{ ...tensors[0]!, type: 99 }];
    await assert.rejects(readGgufHeader(file('type.gguf', serializeGguf(metadata, bad))), (e: unknown) => e instanceof GgufTensorTypeError && e.tensor === 'a' && /ggml type 99/.test(e.message));
    const bytes = Buffer.from(readFileSync(file('ok2.gguf', good)));
    const off = bytes.indexOf(Buffer.from('b.weight')) + 8 + 4 + 16 + 4;
    bytes.writeBigUInt64LE(33n, off);
    await assert.rejects(readGgufHeader(file('misaligned.gguf', bytes)), /tensor 'b\.weight' is at offset 33, not a multiple of the alignment 32/);
  });

  test('a missing file is a GgufFormatError naming the path', async () => {
    const path = join(dir, 'absent.gguf');
    await assert.rejects(readGgufHeader(path), (e: unknown) => e instanceof GgufFormatError && e.message === `${path}: no such file (GGUF files are read from a local path)`);
  });

  test('a row that is not a whole number of blocks is refused with the tensor named', async () => {
    const path = join(dir, 'rows.gguf');
    writeGguf(path, metadata, [{ name: 'q', dims: [48, 1], type: 8, data: new Uint8Array(51) }]);
    await assert.rejects(readGgufHeader(path), /tensor 'q' has rows of 48 values, not a whole number of Q8_0 blocks of 32/);
  });
});
