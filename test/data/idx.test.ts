import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, loadIdxDataset, parseIdx, readIdx, type IdxData } from '../../src/data/index.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forja-idx-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** IDX bytes built by hand, independent of encodeIdx. */
function idxBytes(code: number, shape: number[], payload: number[]): Buffer {
  const header = [0, 0, code, shape.length];
  for (const d of shape) header.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return Buffer.from([...header, ...payload]);
}

// 3 images of 2×4 and their labels.
const PIXELS = Array.from({ length: 24 }, (_, i) => (i * 11) % 256);
const LABELS = [7, 0, 9];

test('readIdx reads a hand-built ubyte file, plain and gzipped', async () => {
  const bytes = idxBytes(0x08, [3, 2, 4], PIXELS);
  await writeFile(join(dir, 'a-idx3-ubyte'), bytes);
  await writeFile(join(dir, 'a-idx3-ubyte.gz'), gzipSync(bytes));
  for (const name of ['a-idx3-ubyte', 'a-idx3-ubyte.gz']) {
    const arr = await readIdx(join(dir, name));
    assert.equal(arr.dtype, 'uint8');
    assert.deepEqual(arr.shape, [3, 2, 4]);
    assert.deepEqual(Array.from(arr.data), PIXELS);
  }
});

test('parseIdx decodes big-endian multi-byte values', () => {
  const buf = idxBytes(0x0b, [2], [0x01, 0x02, 0xff, 0xfe]);
  assert.deepEqual(Array.from(parseIdx(buf).data), [258, -2]);
});

test('encodeIdx and parseIdx round-trip every dtype', () => {
  const cases: [IdxData, string][] = [
    [Uint8Array.of(0, 1, 255, 128, 7, 9), 'uint8'],
    [Int8Array.of(-128, 127, 0, -1, 5, 6), 'int8'],
    [Int16Array.of(-32768, 32767, 0, -1, 300, 6), 'int16'],
    [Int32Array.of(-(2 ** 31), 2 ** 31 - 1, 0, -1, 70000, 6), 'int32'],
    [Float32Array.of(0.5, -1.25, 3e10, 0, 1, 2), 'float32'],
    [Float64Array.of(Math.PI, -Math.E, 1e300, 0, 1, 2), 'float64'],
  ];
  for (const [data, dtype] of cases) {
    const back = parseIdx(encodeIdx(data, [2, 3]));
    assert.equal(back.dtype, dtype);
    assert.deepEqual(back.shape, [2, 3]);
    assert.deepEqual(back.data, data);
  }
  assert.throws(() => encodeIdx(Uint8Array.of(1, 2, 3), [2, 2]), /holds 4 values but data has 3/);
});

test('corrupt IDX files fail with errors naming the file', async () => {
  const cases: [string, Buffer, RegExp][] = [
    ['magic', Buffer.from([1, 0, 8, 1, 0, 0, 0, 1, 5]), /bad IDX magic number/],
    ['dtype', idxBytes(0x0a, [1], [5]), /unknown IDX dtype code 0x0a/],
    ['ndim0', Buffer.from([0, 0, 8, 0]), /0 dimensions/],
    ['short-header', Buffer.from([0, 0, 8, 3, 0, 0]), /needing 16 header bytes/],
    ['truncated', idxBytes(0x08, [3, 2, 4], PIXELS.slice(0, 20)), /needs 24 data bytes, file has 20 \(truncated\?\)/],
    ['trailing', idxBytes(0x08, [2], [1, 2, 3]), /trailing bytes/],
    ['tiny', Buffer.from([0, 0]), /header needs 4 bytes/],
    ['bad-gzip', Buffer.concat([gzipSync(idxBytes(0x08, [2], [1, 2])).subarray(0, 12)]), /corrupt gzip data/],
  ];
  for (const [name, bytes, pattern] of cases) {
    const path = join(dir, `corrupt-${name}`);
    await writeFile(path, bytes);
    await assert.rejects(readIdx(path), (err: Error) => {
      assert.match(err.message, pattern);
      assert.ok(err.message.includes(path), `error should name ${path}: ${err.message}`);
      return true;
    });
  }
  await assert.rejects(readIdx(join(dir, 'missing')), /readIdx: cannot read .*missing/);
});

async function writeSplit(sub: string, split: string, gz: boolean, sep = '-'): Promise<string> {
  const d = join(dir, sub);
  await mkdir(d, { recursive: true });
  const z = (b: Buffer): Buffer => (gz ? gzipSync(b) : b);
  const ext = gz ? '.gz' : '';
  await writeFile(join(d, `${split}-images${sep}idx3-ubyte${ext}`), z(idxBytes(0x08, [3, 2, 4], PIXELS)));
  await writeFile(join(d, `${split}-labels${sep}idx1-ubyte${ext}`), z(idxBytes(0x08, [3], LABELS)));
  return d;
}

test('loadIdxDataset loads plain, gzipped and dot-named splits', async () => {
  const layouts: [string, 'train' | 't10k', boolean, string][] = [
    ['plain', 'train', false, '-'],
    ['gz', 't10k', true, '-'],
    ['dotted', 'train', false, '.'],
  ];
  for (const [sub, split, gz, sep] of layouts) {
    const d = await writeSplit(sub, split, gz, sep);
    const ds = await loadIdxDataset(d, { split });
    assert.equal(ds.count, 3);
    assert.equal(ds.rows, 2);
    assert.equal(ds.cols, 4);
    assert.deepEqual(Array.from(ds.labels), LABELS);
    assert.ok(ds.images instanceof Float32Array);
    assert.deepEqual(Array.from(ds.images), PIXELS.map((p) => Math.fround(p / 255)));
  }
});

test('loadIdxDataset reports missing and mismatched files', async () => {
  const d = await writeSplit('mismatch', 'train', false);
  await assert.rejects(loadIdxDataset(d, { split: 't10k' }), /no t10k images file in .*mismatch \(looked for t10k-images-idx3-ubyte/);
  await writeFile(join(d, 'train-labels-idx1-ubyte'), idxBytes(0x08, [2], [1, 2]));
  await assert.rejects(loadIdxDataset(d, { split: 'train' }), /has 2 labels but .*train-images-idx3-ubyte has 3 images/);
  await writeFile(join(d, 'train-images-idx3-ubyte'), idxBytes(0x0c, [2], [0, 0, 0, 1, 0, 0, 0, 2]));
  await assert.rejects(loadIdxDataset(d, { split: 'train' }), /train-images-idx3-ubyte: expected uint8 images of shape \[count, rows, cols\], got int32 \[2\]/);
});
