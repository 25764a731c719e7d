/**
 * A fine-tuning output directory is at once a Hugging Face checkpoint and a
 * resumable run:
 *
 *   config.json, model.safetensors, generation_config.json   the fine-tuned model (full fine-tuning)
 *   tokenizer.json, tokenizer_config.json, ...                copied from the base model
 *   checkpoint.safetensors                                    the Trainer's checkpoint: what trains, AdamW
 *                                                             moments, step, history, settings (train/checkpoint.ts)
 *
 * Every file is replaced atomically, config.json last; config.json and the
 * tokenizer files are the same at every save, so the directory always loads
 * as one step's model. The directory is checked before any work: it must not
 * be the base model's own, and a run is only continued or replaced when asked.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import type { JsonObject } from '../../io/hf-checkpoint.js';
import { writeSafetensorsCheckpoint } from '../../io/safetensors.js';
import { CHECKPOINT_FILE, readCheckpointRun, type StoredRun } from '../../train/checkpoint.js';
import { CheckpointError } from '../../train/errors.js';
import { architectureSpec } from '../registry.js';
import type { ConfigJson } from '../transformer/config.js';
import type { CausalLmModel } from '../transformer/types.js';
import { unbindWeights } from '../transformer/weights.js';
import { FinetuneSettingsError, OutputIsBaseModelError } from './errors.js';
import { FINETUNE_RUN_KIND } from './task.js';

export { CHECKPOINT_FILE };

/** Tokenizer files a base model may have; those present are copied as they are. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
  'chat_template.jinja',
  'chat_template.json',
];

/** The model fine-tuning starts from. */
export interface BaseModel {
  /** Its directory (a cache snapshot for a hub id). */
  dir: string;
  config: ConfigJson;
  generationConfig?: JsonObject | undefined;
}

const canonical = (path: string): string => (existsSync(path) ? realpathSync(path) : resolve(path));
const isInside = (dir: string, path: string): boolean => {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** Refuse an output directory that is the base model's, or holds it (replacing it would delete the base). */
export function checkNotBase(outputDir: string, baseDir: string): void {
  if (outputDir === '') throw new FinetuneSettingsError('output_dir', '{output_dir} must not be empty (it would write into the current directory)');
  const out = canonical(outputDir);
  if (isInside(out, canonical(baseDir))) throw new OutputIsBaseModelError(outputDir, baseDir);
}

/** The run saved in `dir`, undefined if it holds none; a checkpoint of another kind of training is an error. */
export async function readFinetuneRun(dir: string): Promise<StoredRun | undefined> {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) return undefined;
  const run = await readCheckpointRun(path);
  if (run.meta.kind !== FINETUNE_RUN_KIND || typeof run.meta.args !== 'object' || run.meta.args === null) {
    throw new CheckpointError(path, `not a fine-tuning checkpoint (its run kind is ${JSON.stringify(run.meta.kind ?? null)})`);
  }
  return run;
}

/** A fresh run may start in `dir`: absent, empty, or `overwrite` given. */
export async function checkFreshDir(dir: string, overwrite: boolean): Promise<void> {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new FinetuneSettingsError('output_dir', `{output_dir} ${dir} is a file, not a directory`);
  if (overwrite || (await readdir(dir)).length === 0) return;
  const run = await readFinetuneRun(dir).catch(() => undefined);
  throw new FinetuneSettingsError(
    'output_dir',
    run
      ? `{output_dir} ${dir} already holds a fine-tuning run: continue it with {resume_from_checkpoint}, or start again with {overwrite_output_dir}`
      : `{output_dir} ${dir} is not empty and holds no fine-tuning run: choose another {output_dir}, or replace its contents with {overwrite_output_dir}`,
  );
}

/** Remove everything in `dir` (an overwritten run), leaving it empty. */
export async function emptyDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

/** Copy the base's tokenizer files into `dir`; returns the names copied. */
export async function copyTokenizerFiles(baseDir: string, dir: string): Promise<string[]> {
  const copied: string[] = [];
  for (const name of TOKENIZER_FILES) {
    if (!existsSync(join(baseDir, name))) continue;
    await writeFileAtomic(join(dir, name), await readFile(join(baseDir, name)));
    copied.push(name);
  }
  return copied;
}

/** generation_config.json: the base's, else the special tokens its config names. */
export function generationConfigOf(base: BaseModel): JsonObject {
  if (base.generationConfig) return base.generationConfig;
  return { _from_model_config: true, bos_token_id: base.config.bos_token_id ?? null, eos_token_id: base.config.eos_token_id ?? null };
}

/**
 * Write a fully fine-tuned `model` into `dir` as transformers saves it: the
 * base's config (weights now float32), model.safetensors (sharded past 5 GB)
 * under the architecture's checkpoint names, generation_config.json, config.json last.
 */
export async function writeFullModel(dir: string, base: BaseModel, model: CausalLmModel): Promise<void> {
  const { spec } = architectureSpec(base.config, join(base.dir, 'config.json'));
  await mkdir(dir, { recursive: true });
  await writeSafetensorsCheckpoint(dir, unbindWeights(spec.tensors(base.config), model.weights));
  await writeFileAtomic(join(dir, 'generation_config.json'), jsonText(generationConfigOf(base)));
  const config: JsonObject = { ...base.config, dtype: 'float32' };
  if ('torch_dtype' in base.config) config.torch_dtype = 'float32';
  await writeFileAtomic(join(dir, 'config.json'), jsonText(config));
}

const jsonText = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';
