import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensorsHeader } from '../../../src/io/safetensors/reader.js';
import { readSafetensorsIndex, readShardedSafetensors, shardFiles, writeSafetensorsCheckpoint } from '../../../src/io/safetensors/sharded.js';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'forja-st-shard-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tensors = new Map([
  ['a', { shape: [4], data: new Float32Array([1, 2, 3, 4]) }],
  ['b', { shape: [2, 2], data: new Float32Array([5, 6, 7, 8]) }],
  ['c', { shape: [3], data: new Float32Array([9, 10, 11]) }],
]);

test('sharded checkpoints: write, merge, and clear errors for missing shards or tensors', async () => {
  await withTempDir(async (dir) => {
    const files = await writeSafetensorsCheckpoint(dir, tensors, { maxShardBytes: 20 });
    assert.deepEqual(files, ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json']);
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    assert.equal(index.metadata.total_size, 44);
    assert.equal(index.weight_map.b, 'model-00002-of-00003.safetensors');
    assert.deepEqual(shardFiles(await readSafetensorsIndex(join(dir, 'model.safetensors.index.json'))), files.slice(0, 3));
    const merged = await readShardedSafetensors(dir);
    assert.equal(merged.size, 3);
    for (const [name, t] of tensors) assert.deepEqual(merged.get(name)!.data, t.data);
    const filtered = await readShardedSafetensors(dir, { filter: (name) => name !== 'b' });
    assert.deepEqual([...filtered.keys()].sort(), ['a', 'c']);

    // A tensor mapped to a shard that does not hold it.
    index.weight_map.ghost = 'model-00001-of-00003.safetensors';
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    await assert.rejects(readShardedSafetensors(dir), /tensor "ghost" is mapped to model-00001-of-00003\.safetensors but .* does not contain it/);
    delete index.weight_map.ghost;
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));

    unlinkSync(join(dir, 'model-00002-of-00003.safetensors'));
    await assert.rejects(readShardedSafetensors(dir), /model\.safetensors\.index\.json: shard "model-00002-of-00003\.safetensors" \(holding 1 tensors, e\.g\. "b"\) is missing from/);
    await assert.rejects(readShardedSafetensors(join(dir, 'nowhere')), /nowhere\/model\.safetensors\.index\.json: cannot read safetensors index/);
  });
});

test('F16 tensors count 2 bytes each toward the shard size; one shard is a single model.safetensors', async () => {
  await withTempDir(async (dir) => {
    const half = new Map([...tensors].map(([name, t]) => [name, { ...t, dtype: 'F16' as const }]));
    assert.deepEqual(await writeSafetensorsCheckpoint(dir, half, { maxShardBytes: 22 }), ['model.safetensors']);
    assert.deepEqual((await readSafetensorsHeader(join(dir, 'model.safetensors'))).metadata, { format: 'pt' });
    const two = join(dir, 'two');
    const files = await writeSafetensorsCheckpoint(two, half, { maxShardBytes: 16, baseName: 'w', metadata: { format: 'forja' } });
    assert.deepEqual(files, ['w-00001-of-00002.safetensors', 'w-00002-of-00002.safetensors', 'w.safetensors.index.json']);
    assert.equal(JSON.parse(readFileSync(join(two, 'w.safetensors.index.json'), 'utf8')).metadata.total_size, 22);
    assert.deepEqual((await readShardedSafetensors(two, { indexName: 'w.safetensors.index.json' })).get('c')!.data, new Float32Array([9, 10, 11]));
  });
});

test('an index is checked: JSON, a weight_map of relative file names', async () => {
  await withTempDir(async (dir) => {
    const cases: [string, RegExp][] = [
      ['{', /index is not valid JSON/],
      ['{"metadata":{}}', /index has no "weight_map" object/],
      ['{"weight_map":{"a":3}}', /weight_map\["a"\] must be a file name, got 3/],
      ['{"weight_map":{"a":"../x.safetensors"}}', /shard path "\.\.\/x\.safetensors" must be relative to the index's directory/],
      ['{"weight_map":{"a":"/x.safetensors"}}', /shard path "\/x\.safetensors" must be relative/],
    ];
    const p = join(dir, 'model.safetensors.index.json');
    for (const [text, re] of cases) {
      writeFileSync(p, text);
      await assert.rejects(readSafetensorsIndex(p), re, text);
    }
  });
});
