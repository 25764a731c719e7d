/**
 * Save a (fine-tuned) SentenceEmbedder in the sentence-transformers layout it
 * was loaded from, flat (the Transformer module at the root):
 *
 *   config.json, model.safetensors, tokenizer files      the BERT (weights float32)
 *   modules.json, 1_Pooling/, 2_Normalize/               the embedder's pooling and normalisation
 *   sentence_bert_config.json                            max_seq_length
 *   config_sentence_transformers.json                    prompts: the embedder's query/passage prefixes
 *
 * The directory is written beside `dir` and renamed into place, so `dir` is
 * always either the previous model or the new one, never a mix.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../../../io/atomic.js';
import { readJsonObject, type JsonObject } from '../../../io/hf-checkpoint.js';
import { writeSafetensorsCheckpoint } from '../../../io/safetensors.js';
import { ConfigError } from '../../transformer/config.js';
import { unbindWeights } from '../../transformer/weights.js';
import type { SentenceEmbedder } from '../embedder.js';
import { bertTensors } from '../model.js';
import { poolingModeOf } from '../sentence-transformers.js';

/** Tokenizer files a BERT directory may have; those present are copied. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'added_tokens.json'];

const json = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';

/** The base's JSON file, or {} when it has none. */
const baseJson = async (path: string): Promise<JsonObject> => (await readJsonObject(path)) ?? {};

/** Write `embedder` (its current weights and settings) to `dir`, replacing what is there. */
export async function saveSentenceEmbedder(embedder: SentenceEmbedder, dir: string): Promise<void> {
  const base = embedder.dir;
  const target = resolve(dir);
  if (target === resolve(base)) throw new ConfigError(`saveSentenceEmbedder: ${dir} is the directory the model was loaded from; save to another one`);
  await mkdir(dirname(target), { recursive: true });
  const stage = await mkdtemp(join(dirname(target), `.${basename(target)}.saving-`));
  try {
    await writeLayout(embedder, stage);
    if (existsSync(target)) {
      const old = `${stage}.old`;
      await rename(target, old);
      await rename(stage, target);
      await rm(old, { recursive: true, force: true });
    } else await rename(stage, target);
  } catch (err) {
    await rm(stage, { recursive: true, force: true });
    throw err;
  }
}

async function writeLayout(embedder: SentenceEmbedder, out: string): Promise<void> {
  const base = embedder.dir;
  const { config, weights, heads } = embedder.model;
  await writeSafetensorsCheckpoint(out, unbindWeights(bertTensors(config, heads), weights));
  for (const name of TOKENIZER_FILES) if (existsSync(join(base, name))) await cp(join(base, name), join(out, name));
  const configJson: JsonObject = { ...(await baseJson(join(base, 'config.json'))), dtype: 'float32' };
  await writeFileAtomic(join(out, 'config.json'), json(configJson));

  const modules: JsonObject[] = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
  ];
  if (embedder.normalize) modules.push({ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' });
  await writeFileAtomic(join(out, 'modules.json'), json(modules));
  await writeFileAtomic(join(out, '1_Pooling', 'config.json'), json(await poolingConfig(embedder)));
  if (embedder.normalize) await writeFileAtomic(join(out, '2_Normalize', 'config.json'), json({}));

  const st = await baseJson(join(base, 'sentence_bert_config.json'));
  await writeFileAtomic(join(out, 'sentence_bert_config.json'), json({ ...st, max_seq_length: embedder.maxTokens }));
  const prompts = await baseJson(join(base, 'config_sentence_transformers.json'));
  await writeFileAtomic(join(out, 'config_sentence_transformers.json'), json(promptsConfig(prompts, embedder)));
}

/** The base's 1_Pooling config when it names the embedder's mode, else a new one. */
async function poolingConfig(embedder: SentenceEmbedder): Promise<JsonObject> {
  const path = join(embedder.dir, '1_Pooling', 'config.json');
  const existing = await readJsonObject(path);
  if (existing) {
    try {
      if (poolingModeOf(existing, path) === embedder.pooling) return existing;
    } catch {
      // A config Forja cannot read is replaced by one it writes.
    }
  }
  return { embedding_dimension: embedder.dimension, pooling_mode: embedder.pooling, include_prompt: true };
}

/**
 * The base's config_sentence_transformers.json with prompts that give the embedder's prefixes: the
 * query and passage prompts under the names the base uses (else "query" and "document").
 */
function promptsConfig(base: JsonObject, embedder: SentenceEmbedder): JsonObject {
  const prompts: Record<string, string> = { ...((base.prompts as Record<string, string> | undefined) ?? {}) };
  const passageName = ['passage', 'document', 'corpus', 'doc'].find((n) => prompts[n] !== undefined) ?? 'document';
  prompts.query = embedder.prefixes.query;
  prompts[passageName] = embedder.prefixes.passage;
  const out: JsonObject = { ...base, prompts };
  if (embedder.prefixes.none === '') out.default_prompt_name = null;
  else if (typeof base.default_prompt_name !== 'string' || prompts[base.default_prompt_name] !== embedder.prefixes.none) {
    prompts.default = embedder.prefixes.none;
    out.default_prompt_name = 'default';
  }
  if (out.similarity_fn_name === undefined) out.similarity_fn_name = 'cosine';
  return out;
}
