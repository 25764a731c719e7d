/**
 * An LM run directory is at once a Hugging Face checkpoint and a resumable run:
 *
 *   config.json, model.safetensors, generation_config.json   the model (GPT2LMHeadModel, LlamaForCausalLM)
 *   tokenizer.json, tokenizer_config.json, ...                the tokenizer
 *   checkpoint.safetensors                                    the Trainer's checkpoint: weights, AdamW
 *                                                             moments, step, history, settings (train/checkpoint.ts)
 *
 * Every file is replaced atomically. config.json and the tokenizer files are
 * the same at every save of a run, so the directory always loads as one
 * step's model; checkpoint.safetensors alone says where a resume continues.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { writeSafetensors } from '../../io/safetensors.js';
import { CHECKPOINT_FILE, readCheckpointRun } from '../../train/checkpoint.js';
import { CheckpointError } from '../../train/errors.js';
import type { HistoryRow } from '../../train/history.js';
import type { Position } from '../../train/trainer.js';
import { readLegacyRun } from './legacy.js';
import { LM_DEFAULTS, type LmTrainSettings } from './settings.js';
import { LM_RUN_KIND, type LmRunMeta, type LmTask } from './task.js';

export { CHECKPOINT_FILE };

/** A run found in a directory: where it stands and what it was asked to do. */
export interface SavedLmRun {
  meta: LmRunMeta;
  position: Position;
  history: HistoryRow[];
  /** 'legacy': a run saved before checkpoint.safetensors existed (see legacy.ts). */
  format: 'checkpoint' | 'legacy';
}

/** Write the Hugging Face files of `task`'s current weights into `dir`, config.json last. */
export async function writeHfFiles(dir: string, task: LmTask): Promise<void> {
  const { config, tokenizer } = task.parts;
  const t = tokenizer.tokenizer;
  for (const [name, value] of Object.entries(tokenizer.files)) {
    await writeFileAtomic(join(dir, name), isBytes(value) ? value : jsonText(value));
  }
  await writeFileAtomic(join(dir, 'generation_config.json'), jsonText(generationConfig(t.bosTokenId, t.eosTokenId)));
  await writeSafetensors(join(dir, 'model.safetensors'), task.checkpointWeights(), { format: 'pt' });
  await writeFileAtomic(join(dir, 'config.json'), jsonText(config));
}

const isBytes = (v: unknown): v is string | ArrayBufferView | readonly ArrayBufferView[] => typeof v === 'string' || ArrayBuffer.isView(v) || Array.isArray(v);
const jsonText = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';

function generationConfig(bos: number | undefined, eos: number | undefined): Record<string, unknown> {
  // Char-level models have no end token: sampling reads far better than greedy there.
  return { _from_model_config: true, bos_token_id: bos ?? null, eos_token_id: eos ?? null, do_sample: true, temperature: 0.8, top_k: 200 };
}

/** The run saved in `dir`, undefined if it holds none; a checkpoint that is not an LM run's is an error. */
export async function readLmRun(dir: string): Promise<SavedLmRun | undefined> {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) return readLegacyRun(dir);
  const run = await readCheckpointRun(path);
  if (!isLmRunMeta(run.meta)) {
    throw new CheckpointError(path, `not a language-model training checkpoint (its run kind is ${JSON.stringify(run.meta.kind ?? null)})`);
  }
  return { meta: run.meta, position: run.position, history: run.history, format: 'checkpoint' };
}

/** Whether `dir` holds an LM run that `readLmRun` can continue. */
export async function isLmRunDir(dir: string): Promise<boolean> {
  return (await readLmRun(dir).catch(() => undefined)) !== undefined;
}

function isLmRunMeta(meta: Record<string, unknown>): meta is Record<string, unknown> & LmRunMeta {
  const settings = meta.settings as Partial<LmTrainSettings> | undefined;
  return (
    meta.kind === LM_RUN_KIND &&
    typeof settings === 'object' && settings !== null &&
    Object.entries(LM_DEFAULTS).every(([key, value]) => typeof settings[key as keyof LmTrainSettings] === typeof value) &&
    (meta.tokenizer === 'char' || meta.tokenizer === 'pretrained') &&
    typeof (meta.data as { sha256?: unknown } | undefined)?.sha256 === 'string'
  );
}
