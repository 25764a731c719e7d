import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SafetensorsError } from '../../../src/io/safetensors/codecs.js';
import { headerLength, parseSafetensorsHeader } from '../../../src/io/safetensors/header.js';

const json = (header: unknown): Uint8Array => Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));

function prefix(n: bigint): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

test('a valid header: tensors in header order, metadata, data start and size', () => {
  const bytes = json({
    __metadata__: { format: 'pt' },
    b: { dtype: 'F16', shape: [2, 3], data_offsets: [8, 20] },
    a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] },
    e: { dtype: 'F32', shape: [0], data_offsets: [20, 20] },
  });
  const h = parseSafetensorsHeader(bytes, 20, 'x.safetensors');
  assert.deepEqual([...h.tensors.keys()], ['b', 'a', 'e']);
  assert.deepEqual(h.tensors.get('b'), { dtype: 'F16', shape: [2, 3], dataOffsets: [8, 20] });
  assert.deepEqual(h.metadata, { format: 'pt' });
  assert.equal(h.dataStart, 8 + bytes.byteLength);
  assert.equal(h.dataSize, 20);
  assert.deepEqual(parseSafetensorsHeader(json({}), 0, 'y').metadata, {}, 'no __metadata__: {}');
});

test('malformed headers: errors name the source and the tensor', () => {
  const cases: [unknown, number, RegExp][] = [
    ['{not json', 0, /^f: safetensors header is not valid UTF-8 JSON/],
    ['[1,2]', 0, /^f: safetensors header must be a JSON object/],
    [{ __metadata__: { n: 1 } }, 0, /^f: __metadata__\["n"\] must be a string, got 1/],
    [{ __metadata__: [] }, 0, /^f: __metadata__ must be an object of strings/],
    [{ w: 3 }, 0, /^f: tensor "w": header entry must be an object/],
    [{ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 1, /^f: tensor "w": unknown dtype "Q4" \(supported: F64, F32, F16, BF16/],
    [{ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4, /^f: tensor "w": shape must be an array of non-negative integers, got \[-1\]/],
    [{ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4, /^f: tensor "w": data_offsets must be \[begin, end\] with 0 <= begin <= end, got \[4,0\]/],
    [{ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8, /^f: tensor "w": data_offsets \[0, 16\] run past the end of the data section \(8 bytes\)/],
    [{ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, 16, /^f: tensor "w": data_offsets \[0, 12\] span 12 bytes but shape \[2, 2\] × F32 needs 16/],
    [
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
      12,
      /^f: tensor "b" bytes \[4, 12\] overlap tensor "a" bytes \[0, 8\]/,
    ],
  ];
  for (const [header, dataSize, re] of cases) {
    assert.throws(() => parseSafetensorsHeader(json(header), dataSize, 'f'), (err: unknown) => err instanceof SafetensorsError && re.test(err.message), String(re));
  }
  // Invalid UTF-8 is refused, not replaced.
  assert.throws(() => parseSafetensorsHeader(new Uint8Array([0x7b, 0xff, 0x7d]), 0, 'f'), /not valid UTF-8 JSON/);
});

test('headerLength: checked against the file size and the 100 MB limit', () => {
  assert.equal(headerLength(prefix(16n), 100, 'f'), 16);
  assert.throws(() => headerLength(prefix(0n), 3, 'f'), /^SafetensorsError: f: file too short to be safetensors \(3 bytes, need at least 8\)/);
  assert.throws(() => headerLength(prefix(93n), 100, 'f'), /f: header length 93 is absurd \(file is 100 bytes/);
  assert.throws(() => headerLength(prefix(1n << 40n), 2 ** 50, 'f'), /header length 1099511627776 is absurd .*limited to 100000000 bytes/);
});
