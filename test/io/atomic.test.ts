import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../src/io/atomic.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'forja-atomic-'));
}

test('writeFileAtomic writes, overwrites and leaves no temp files', async () => {
  const dir = tempDir();
  try {
    const p = join(dir, 'a.bin');
    await writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...readFileSync(p)], [1, 2, 3]);
    await writeFileAtomic(p, 'hello');
    assert.equal(readFileSync(p, 'utf8'), 'hello');
    // Chunks are concatenated in order; typed arrays are written as raw bytes.
    await writeFileAtomic(p, [new Uint8Array([9]), new Uint16Array([0x0201])]);
    assert.deepEqual([...readFileSync(p)], [9, 1, 2]);
    assert.deepEqual(readdirSync(dir), ['a.bin']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic creates parent directories', async () => {
  const dir = tempDir();
  try {
    const p = join(dir, 'x', 'y', 'z.txt');
    await writeFileAtomic(p, 'deep');
    assert.equal(readFileSync(p, 'utf8'), 'deep');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeJsonAtomic writes pretty JSON with a trailing newline', async () => {
  const dir = tempDir();
  try {
    const p = join(dir, 'c.json');
    await writeJsonAtomic(p, { a: 1, b: [2] });
    assert.equal(readFileSync(p, 'utf8'), '{\n  "a": 1,\n  "b": [\n    2\n  ]\n}\n');
    await writeJsonAtomic(p, { z: true }, { indent: 0 });
    assert.equal(readFileSync(p, 'utf8'), '{"z":true}\n');
    await assert.rejects(writeJsonAtomic(join(dir, 'u.json'), undefined), /u\.json.*not JSON-serialisable/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed write keeps the old file, names the path and cleans up the temp file', async () => {
  const dir = tempDir();
  try {
    // Target is an existing directory: rename over it fails after the temp file was written.
    const target = join(dir, 'taken');
    fs.mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    await assert.rejects(writeFileAtomic(target, 'data'), (err: Error) => {
      assert.match(err.message, /writeFileAtomic: could not write .*taken/);
      return true;
    });
    assert.deepEqual(readdirSync(dir), ['taken']);
    assert.equal(readFileSync(join(target, 'keep'), 'utf8'), 'x');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
