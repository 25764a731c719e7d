/**
 * Write a Hugging Face checkpoint directory: config.json, model.safetensors
 * (sharded past 5 GB, as transformers does), generation_config.json and any
 * further files (tokenizer, training state).
 *
 * The whole directory is replaced at once: files go to a staging sibling,
 * each written atomically, then the staging directory is swapped in. A crash
 * mid-save leaves the previous checkpoint readable, never a mix of two saves.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic, type AtomicData } from './atomic.js';
import type { JsonObject } from './hf-checkpoint.js';
import { writeSafetensorsCheckpoint, type TensorsToWrite } from './safetensors.js';

/** A file's contents: JSON objects are pretty-printed; text, bytes and lists of byte chunks are written as they are. */
export type CheckpointFile = JsonObject | AtomicData;

export interface HfCheckpointContents {
  /** config.json; must name `model_type` and `architectures` so transformers can pick the classes. */
  config: JsonObject;
  /** Tensors by checkpoint name, written to model.safetensors (F32 unless a tensor says otherwise). */
  weights: TensorsToWrite;
  generationConfig?: JsonObject;
  /** Further files by name, e.g. tokenizer.json, tokenizer_config.json, trainer_state.json. */
  files?: Readonly<Record<string, CheckpointFile>>;
}

const RESERVED = new Set(['config.json', 'generation_config.json', 'model.safetensors', 'model.safetensors.index.json']);

const isJsonObject = (v: CheckpointFile): v is JsonObject => typeof v === 'object' && !ArrayBuffer.isView(v) && !Array.isArray(v);

function checkConfig(dir: string, config: JsonObject): void {
  if (typeof config.model_type !== 'string') {
    throw new Error(`saveHfCheckpoint ${dir}: config.json needs a string "model_type" (transformers picks the config class by it), received ${JSON.stringify(config.model_type)}`);
  }
  const archs = config.architectures;
  if (!Array.isArray(archs) || typeof archs[0] !== 'string') {
    throw new Error(`saveHfCheckpoint ${dir}: config.json needs an "architectures" list such as ["GPT2LMHeadModel"], received ${JSON.stringify(archs)}`);
  }
}

/** Write a complete checkpoint into `dir`, replacing a previous one atomically. Returns the file names, sorted. */
export async function saveHfCheckpoint(dir: string, contents: HfCheckpointContents): Promise<string[]> {
  checkConfig(dir, contents.config);
  const files = contents.files ?? {};
  for (const name of Object.keys(files)) {
    if (name !== basename(name) || name.startsWith('.')) throw new Error(`saveHfCheckpoint ${dir}: file name '${name}' must be a plain name inside the directory`);
    if (RESERVED.has(name)) throw new Error(`saveHfCheckpoint ${dir}: '${name}' is written from the config/weights/generationConfig fields, not from files`);
  }
  await replaceDirAtomic(dir, async (staging) => {
    await writeFileAtomic(join(staging, 'config.json'), jsonText(contents.config));
    await writeSafetensorsCheckpoint(staging, contents.weights);
    if (contents.generationConfig) await writeFileAtomic(join(staging, 'generation_config.json'), jsonText(contents.generationConfig));
    for (const [name, value] of Object.entries(files)) {
      await writeFileAtomic(join(staging, name), isJsonObject(value) ? jsonText(value) : value);
    }
  });
  return (await fsp.readdir(dir)).sort();
}

const jsonText = (value: JsonObject): string => JSON.stringify(value, null, 2) + '\n';

// Fixed sibling names, so an interrupted save can be found and undone by the next one.
const stagingPath = (dir: string): string => join(dirname(dir), `.${basename(dir)}.staging`);
const previousPath = (dir: string): string => join(dirname(dir), `.${basename(dir)}.previous`);

/**
 * Undo a save interrupted between its two renames: if `dir` is missing but the
 * previous checkpoint was set aside, put it back. Returns true when it did.
 */
export async function recoverInterruptedSave(dir: string): Promise<boolean> {
  const target = resolve(dir);
  if (fs.existsSync(target) || !fs.existsSync(previousPath(target))) return false;
  await fsp.rename(previousPath(target), target);
  return true;
}

/** Refuse to replace a directory that holds something other than a checkpoint (e.g. the current directory). */
async function checkReplaceable(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fsp.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new Error(`saveHfCheckpoint: ${dir} is a file, not a directory`);
    throw err;
  }
  if (entries.length > 0 && !entries.includes('config.json')) {
    throw new Error(`saveHfCheckpoint: ${dir} is not empty and holds no config.json, so it is not a checkpoint; refusing to replace it`);
  }
}

/**
 * Fill a fresh staging directory with `fill`, then swap it in for `dir`:
 * rename the old directory aside, rename staging into place, delete the old one.
 */
export async function replaceDirAtomic(dir: string, fill: (staging: string) => Promise<void>): Promise<void> {
  const target = resolve(dir);
  await recoverInterruptedSave(target);
  await checkReplaceable(target);
  const staging = stagingPath(target);
  const previous = previousPath(target);
  await fsp.rm(staging, { recursive: true, force: true });
  await fsp.mkdir(staging, { recursive: true });
  try {
    await fill(staging);
  } catch (err) {
    await fsp.rm(staging, { recursive: true, force: true });
    throw err;
  }
  await fsp.rm(previous, { recursive: true, force: true });
  const hadPrevious = fs.existsSync(target);
  if (hadPrevious) await fsp.rename(target, previous);
  await fsp.rename(staging, target);
  await syncDir(dirname(target));
  if (hadPrevious) await fsp.rm(previous, { recursive: true, force: true });
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close();
}
