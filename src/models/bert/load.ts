/**
 * What the embedder and the cross-encoder load alike: a BERT checkpoint from a
 * directory or hub id, its tokenizer, and the tokenizer's special-token template.
 * The config is checked before any weights are read or downloaded.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadHfCheckpoint, readJsonObject, type LoadCheckpointOptions } from '../../io/hf-checkpoint.js';
import { resolveModelDir } from '../../io/hub.js';
import { Tokenizer } from '../../text/tokenizer.js';
import { ConfigError } from '../transformer/config.js';
import { BERT_ARCHITECTURES, parseBertConfig, type BertArchitecture } from './config.js';
import { SpecialTokenTemplate } from './encoding.js';
import { Bert, type BertHeads } from './model.js';

export interface BertParts {
  /** The directory the files were read from (a cache snapshot for hub ids). */
  dir: string;
  model: Bert;
  tokenizer: Tokenizer;
  template: SpecialTokenTemplate;
  padId: number;
  /** tokenizer_config's model_max_length when it is a real limit (transformers writes 1e30 for "none"). */
  tokenizerMaxLength: number | undefined;
}

/** The directory of `dirOrId` with config and tokenizer files (and `extraFiles`) but no weights yet. */
export async function resolveWithoutWeights(dirOrId: string, opts: LoadCheckpointOptions, extraFiles: readonly string[] = []): Promise<string> {
  return resolveModelDir(dirOrId, { ...opts, weights: false, extraFiles: [...(opts.extraFiles ?? []), ...extraFiles] });
}

/**
 * Load the BERT in `dir` (already resolved, without weights) with `heads`. For a hub
 * id the weights are fetched into the same snapshot only once the config is BERT.
 */
export async function loadBertParts(
  dir: string,
  hubId: string | undefined,
  heads: BertHeads,
  opts: LoadCheckpointOptions,
  /** Architectures this use accepts (default any BERT). */
  accept: readonly BertArchitecture[] = BERT_ARCHITECTURES,
): Promise<BertParts> {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new ConfigError(`${dir}: no config.json, so this is not a Hugging Face model directory`);
  const { architecture } = parseBertConfig(await readJsonObject(configPath, true), configPath);
  if (!accept.includes(architecture)) {
    throw new ConfigError(`${configPath}: architecture "${architecture}" does not fit here (expected ${accept.join(' or ')})`);
  }
  if (hubId !== undefined) await resolveModelDir(hubId, { ...opts, weights: true });
  const ckpt = await loadHfCheckpoint(dir, { ...opts, filter: (name) => !name.endsWith('embeddings.position_ids') });
  const model = Bert.fromCheckpoint(ckpt.config, ckpt.weights, heads, configPath);
  const tokenizer = await Tokenizer.fromDir(dir);
  const tokenizerPath = join(dir, 'tokenizer.json');
  const tokenizerJson = await readJsonObject(tokenizerPath);
  const template = tokenizerJson ? SpecialTokenTemplate.fromTokenizerJson(tokenizerJson, tokenizerPath) : SpecialTokenTemplate.none();
  const declaredPad = typeof ckpt.config.pad_token_id === 'number' ? ckpt.config.pad_token_id : 0;
  const padId = tokenizer.padTokenId ?? declaredPad;
  const max = tokenizer.config.model_max_length;
  const tokenizerMaxLength = typeof max === 'number' && Number.isInteger(max) && max > 0 && max < 1e6 ? max : undefined;
  return { dir, model, tokenizer, template, padId, tokenizerMaxLength };
}

/**
 * The longest input in tokens: `requested`, else what the model files say, never more
 * than the position embeddings hold.
 */
export function maxTokensOf(parts: BertParts, declared: number | undefined, requested: number | undefined, where: string, inputs: 'single' | 'pair'): number {
  const positions = parts.model.config.maxPositionEmbeddings;
  // Room for one token of each text besides the special tokens.
  const minimum = inputs === 'single' ? parts.template.singleSpecials + 1 : parts.template.pairSpecials + 2;
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < minimum || requested > positions) {
      throw new ConfigError(`${where}: maxTokens must be an integer from ${minimum} to the model's ${positions} positions, received ${requested}`);
    }
    return requested;
  }
  return Math.min(declared ?? parts.tokenizerMaxLength ?? positions, positions);
}
