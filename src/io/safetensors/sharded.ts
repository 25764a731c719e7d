/**
 * Sharded checkpoints as transformers writes them: model.safetensors.index.json, whose weight_map
 * names the shard (model-0000i-of-0000n.safetensors) holding each tensor.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { writeJsonAtomic } from '../atomic.js';
import { SafetensorsError, dtypeByteSize } from './codecs.js';
import { readSafetensors, readSafetensorsHeader, type ReadOptions, type SafetensorsTensor } from './reader.js';
import { storedDtype, tensorEntries, writeSafetensors, type TensorToWrite, type TensorsToWrite } from './writer.js';

export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

export interface SafetensorsIndex {
  metadata?: Record<string, unknown>;
  weight_map: Record<string, string>;
}

function checkShardName(shard: string, indexPath: string): void {
  if (isAbsolute(shard) || normalize(shard).startsWith('..')) {
    throw new SafetensorsError(`${indexPath}: shard path "${shard}" must be relative to the index's directory`);
  }
}

/** Read and validate a safetensors index file. */
export async function readSafetensorsIndex(indexPath: string): Promise<SafetensorsIndex> {
  let text: string;
  try {
    text = await fsp.readFile(indexPath, 'utf8');
  } catch (err) {
    throw new SafetensorsError(`${indexPath}: cannot read safetensors index (${(err as Error).message})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(`${indexPath}: index is not valid JSON (${(err as Error).message})`);
  }
  const wm = (json as { weight_map?: unknown } | null)?.weight_map;
  if (wm === null || typeof wm !== 'object' || Array.isArray(wm)) {
    throw new SafetensorsError(`${indexPath}: index has no "weight_map" object`);
  }
  for (const [name, shard] of Object.entries(wm)) {
    if (typeof shard !== 'string') throw new SafetensorsError(`${indexPath}: weight_map["${name}"] must be a file name, got ${JSON.stringify(shard)}`);
    checkShardName(shard, indexPath);
  }
  return json as SafetensorsIndex;
}

/** Shard file names of an index, in first-appearance order. */
export function shardFiles(index: SafetensorsIndex): string[] {
  return [...new Set(Object.values(index.weight_map))];
}

export interface ShardedReadOptions extends ReadOptions {
  /** Index file name inside `dir` (default model.safetensors.index.json). */
  indexName?: string;
}

/**
 * Read a sharded checkpoint into one map. Every shard is checked to exist before any is read, and
 * every tensor to be in the shard the index names.
 */
export async function readShardedSafetensors(dir: string, opts: ShardedReadOptions = {}): Promise<Map<string, SafetensorsTensor>> {
  const indexPath = join(dir, opts.indexName ?? SAFETENSORS_INDEX);
  const index = await readSafetensorsIndex(indexPath);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(index.weight_map)) {
    const list = byShard.get(shard) ?? [];
    list.push(name);
    byShard.set(shard, list);
  }
  for (const [shard, names] of byShard) {
    if (!fs.existsSync(join(dir, shard))) {
      throw new SafetensorsError(`${indexPath}: shard "${shard}" (holding ${names.length} tensors, e.g. "${names[0]}") is missing from ${dir}`);
    }
  }
  const merged = new Map<string, SafetensorsTensor>();
  const origin = new Map<string, string>();
  for (const [shard, names] of byShard) {
    const shardPath = join(dir, shard);
    const header = await readSafetensorsHeader(shardPath);
    const missing = names.find((name) => !header.tensors.has(name));
    if (missing !== undefined) {
      throw new SafetensorsError(`${indexPath}: tensor "${missing}" is mapped to ${shard} but ${shardPath} does not contain it`);
    }
    for (const [name, t] of await readSafetensors(shardPath, opts)) {
      const prev = origin.get(name);
      if (prev !== undefined) throw new SafetensorsError(`${dir}: tensor "${name}" appears in both ${prev} and ${shard}`);
      origin.set(name, shard);
      merged.set(name, t);
    }
  }
  return merged;
}

export interface CheckpointWriteOptions {
  /** Largest shard in bytes before splitting (default 5 GB, as transformers). */
  maxShardBytes?: number;
  /** safetensors __metadata__ written into every shard (default {format: 'pt'}, which transformers expects). */
  metadata?: Record<string, string>;
  /** File name stem (default "model"). */
  baseName?: string;
}

type Entry = [string, TensorToWrite];

function splitIntoShards(entries: Entry[], maxShard: number): { shards: Entry[][]; total: number } {
  const shards: Entry[][] = [];
  let current: Entry[] = [];
  let currentBytes = 0;
  let total = 0;
  for (const entry of entries) {
    const bytes = entry[1].data.length * dtypeByteSize(storedDtype(entry[0], entry[1], 'writeSafetensorsCheckpoint'));
    total += bytes;
    if (current.length > 0 && currentBytes + bytes > maxShard) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += bytes;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return { shards, total };
}

/**
 * Write weights the way transformers does: `<base>.safetensors` when they fit in one shard, otherwise
 * `<base>-0000i-of-0000n.safetensors` plus `<base>.safetensors.index.json`. Shards are written first and
 * the index last, each atomically, so a reader never sees an index pointing at missing shards.
 * Returns the file names written.
 */
export async function writeSafetensorsCheckpoint(dir: string, tensors: TensorsToWrite, opts: CheckpointWriteOptions = {}): Promise<string[]> {
  const base = opts.baseName ?? 'model';
  const metadata = opts.metadata ?? { format: 'pt' };
  const { shards, total } = splitIntoShards(tensorEntries(tensors), opts.maxShardBytes ?? 5_000_000_000);
  if (shards.length === 1) {
    const file = `${base}.safetensors`;
    await writeSafetensors(join(dir, file), new Map(shards[0]), metadata);
    return [file];
  }
  const pad = (i: number): string => String(i).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  const files: string[] = [];
  for (const [i, shard] of shards.entries()) {
    const file = `${base}-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    await writeSafetensors(join(dir, file), new Map(shard), metadata);
    for (const [name] of shard) weightMap[name] = file;
    files.push(file);
  }
  const sortedMap: Record<string, string> = {};
  for (const name of Object.keys(weightMap).sort()) sortedMap[name] = weightMap[name]!;
  const indexFile = `${base}.safetensors.index.json`;
  await writeJsonAtomic(join(dir, indexFile), { metadata: { total_size: total }, weight_map: sortedMap });
  return [...files, indexFile];
}
