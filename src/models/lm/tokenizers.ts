/**
 * The tokenizer a run trains with, and the files that reproduce it in a
 * checkpoint: a character vocabulary built from the text, the GPT-2 tokenizer
 * from the Hugging Face cache (never the network), or a tokenizer directory.
 */
import * as fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointFile } from '../../io/hf-save.js';
import { resolveModelDir, repoCacheDir } from '../../io/hub.js';
import { CharTokenizer, Tokenizer, type TextTokenizer } from '../../text/tokenizer.js';
import { LmSettingsError } from './settings.js';

export type TokenizerKind = 'char' | 'pretrained';

/** A tokenizer and the files that reproduce it in a checkpoint. */
export interface TrainingTokenizer {
  kind: TokenizerKind;
  tokenizer: TextTokenizer;
  files: Record<string, CheckpointFile>;
}

export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'added_tokens.json', 'chat_template.jinja'];
const GPT2_REPOS = ['gpt2', 'openai-community/gpt2'];

export function charTrainingTokenizer(tokenizer: CharTokenizer): TrainingTokenizer {
  return {
    kind: 'char',
    tokenizer,
    files: {
      'tokenizer.json': tokenizer.toTokenizerJson(),
      'tokenizer_config.json': { tokenizer_class: 'PreTrainedTokenizerFast', clean_up_tokenization_spaces: false, model_max_length: 1_000_000 },
    },
  };
}

/** A Hugging Face tokenizer directory, its files kept in memory so a checkpoint can carry them. */
export async function pretrainedTrainingTokenizer(dir: string): Promise<TrainingTokenizer> {
  const tokenizer = await Tokenizer.fromDir(dir);
  const files: Record<string, CheckpointFile> = {};
  for (const name of TOKENIZER_FILES) {
    const path = join(dir, name);
    if (fs.existsSync(path)) files[name] = await readFile(path);
  }
  return { kind: 'pretrained', tokenizer, files };
}

/** The GPT-2 tokenizer from the Hugging Face cache, never the network. */
async function cachedGpt2Dir(): Promise<string> {
  for (const repo of GPT2_REPOS) {
    const dir = await resolveModelDir(repo, { offline: true, weights: false }).catch(() => undefined);
    if (dir) return dir;
  }
  throw new LmSettingsError(
    'tokenizer',
    `{tokenizer} gpt2: the GPT-2 tokenizer is not in the Hugging Face cache (looked in ${GPT2_REPOS.map((r) => repoCacheDir(r)).join(' and ')}). ` +
      'Training never downloads; give {tokenizer} a directory holding tokenizer.json (or vocab.json + merges.txt), or fetch gpt2 into the cache first.',
  );
}

/** `char` (vocabulary from `text`), `gpt2` (from the HF cache) or a tokenizer directory. */
export async function resolveTrainingTokenizer(spec: string, text: string): Promise<TrainingTokenizer> {
  if (spec === 'char') return charTrainingTokenizer(CharTokenizer.fromText(text));
  const dir = spec === 'gpt2' ? await cachedGpt2Dir() : spec;
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new LmSettingsError('tokenizer', `{tokenizer} ${spec}: expected 'char', 'gpt2' or a tokenizer directory, and ${dir} is not a directory`);
  }
  try {
    return await pretrainedTrainingTokenizer(dir);
  } catch (err) {
    throw new LmSettingsError('tokenizer', `{tokenizer} ${spec}: ${(err as Error).message}`);
  }
}

/** The tokenizer a checkpoint directory carries. */
export async function checkpointTokenizer(dir: string, kind: TokenizerKind): Promise<TrainingTokenizer> {
  return kind === 'char' ? charTrainingTokenizer(await CharTokenizer.load(dir)) : pretrainedTrainingTokenizer(dir);
}
