/**
 * What a fine-tuning run starts from: the base model (refusing an output
 * directory that is its own before anything is loaded), the data tokenized
 * with the base's tokenizer, what trains (every weight, or LoRA adapters),
 * and on a resume the checks that it continues the same run.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadHfCheckpoint, type JsonObject } from '../../io/hf-checkpoint.js';
import { resolveModelDir, type HubOptions } from '../../io/hub.js';
import type { StoredRun } from '../../train/checkpoint.js';
import { ResumeMismatchError } from '../../train/errors.js';
import { loadFinetuneData, type FinetuneDataOptions, type FinetuneDataSummary } from '../../text/finetune/dataset.js';
import { Tokenizer } from '../../text/tokenizer.js';
import { createLora, loraDropout, type LoraModel } from '../lora/adapter.js';
import type { LoraOptions } from '../lora/config.js';
import { loadCausalLmModel } from '../registry.js';
import type { CausalLmModel } from '../transformer/types.js';
import { FINETUNE_DEFAULTS, type FinetuneArgs, type TrainingArguments } from './args.js';
import type { FinetuneDataset } from './data.js';
import { FinetuneSettingsError } from './errors.js';
import type { TrainableModel } from './graph.js';
import { checkNotBase, CHECKPOINT_FILE, type BaseModel } from './save.js';

export interface LoadedBase extends BaseModel {
  model: CausalLmModel;
  /** The config's sha256, so a resume can check it continues on the same base. */
  configSha256: string;
}

/** The base model's directory (downloaded for a hub id); `outputDir` is refused if it is that directory or holds it. */
export async function resolveBase(model: string, outputDir: string | undefined, hub: HubOptions = {}): Promise<string> {
  // A local directory is checked before anything is read; a hub id once its snapshot is known.
  if (outputDir !== undefined && existsSync(model)) checkNotBase(outputDir, model);
  const dir = await resolveModelDir(model, hub);
  if (outputDir !== undefined) checkNotBase(outputDir, dir);
  return dir;
}

/** Load the base model of `dir`. */
export async function loadBase(dir: string): Promise<LoadedBase> {
  const ckpt = await loadHfCheckpoint(dir);
  return {
    dir,
    config: ckpt.config,
    generationConfig: ckpt.generationConfig,
    model: loadCausalLmModel(ckpt.config, ckpt.weights, join(dir, 'config.json')),
    configSha256: createHash('sha256').update(JSON.stringify(ckpt.config)).digest('hex'),
  };
}

/** Paths of files or folders, or rows already made. */
export type FinetuneDataInput = string | readonly string[] | FinetuneDataset;

export interface DataRequest {
  data: FinetuneDataInput;
  /** Separate validation files (HF's eval_dataset); else `validation_split` of data, if any. */
  evalData?: string | readonly string[] | undefined;
  validationSplit?: number | undefined;
  dataOptions?: Partial<Omit<FinetuneDataOptions, 'maxLength' | 'packing'>> | undefined;
}

export interface OpenedData {
  dataset: FinetuneDataset;
  /** What loading read, kept and skipped (undefined for rows given as they are). */
  summary?: FinetuneDataSummary | undefined;
  /** Tokens the tokenizer knows (undefined for rows given as they are). */
  vocabSize?: number | undefined;
}

const isPaths = (d: FinetuneDataInput): d is string | readonly string[] => typeof d === 'string' || Array.isArray(d);

/** The longest row: max_length, at most the model's positions (the default quietly, an explicit one is refused). */
export function maxLengthFor(given: TrainingArguments, model: CausalLmModel): number {
  const positions = model.dims.maxPositions;
  const length = given.max_length ?? FINETUNE_DEFAULTS.max_length;
  if (length <= positions) return length;
  if (given.max_length === undefined) return positions;
  throw new FinetuneSettingsError('max_length', `{max_length} ${length} is longer than the model's ${positions} positions`);
}

export async function openData(request: DataRequest, base: BaseModel, args: FinetuneArgs): Promise<OpenedData> {
  const { data } = request;
  if (!isPaths(data)) {
    if (request.evalData !== undefined) throw new FinetuneSettingsError('eval_data', '{eval_data} needs {data} as files too (rows given as they are carry their own validation)');
    return { dataset: data };
  }
  const tokenizer = await Tokenizer.fromDir(base.dir);
  const options: FinetuneDataOptions = { seed: args.data_seed, ...request.dataOptions, maxLength: args.max_length, packing: args.packing };
  const split = request.evalData === undefined && request.validationSplit !== undefined ? { validation: request.validationSplit } : {};
  const loaded = await loadFinetuneData(data, tokenizer, { ...options, ...split });
  const validation = request.evalData === undefined ? loaded.validation : (await loadFinetuneData(request.evalData, tokenizer, { ...options, validation: 0 })).train;
  return { dataset: { train: loaded.train, validation }, summary: loaded.summary, vocabSize: tokenizer.vocabSize };
}

/** What trains: every weight, or LoRA adapters (and modules_to_save) over the frozen base. */
export function trainableModel(base: LoadedBase, lora: LoraOptions | undefined, args: FinetuneArgs, vocabSize: number | undefined): { trainable: TrainableModel; lora?: LoraModel } {
  const rows = base.model.dims.vocabSize;
  if (!lora) {
    if (vocabSize !== undefined && vocabSize > rows) {
      throw new FinetuneSettingsError('model', `the tokenizer has ${vocabSize} tokens but the model's embedding has ${rows} rows; fine-tune with {lora}, which resizes the embedding and head (modules_to_save)`);
    }
    return { trainable: { model: base.model, trainable: [...new Set(base.model.weights.values())] } };
  }
  const adapted = createLora(base.model, lora, { seed: args.seed, ...(vocabSize !== undefined && vocabSize > rows && { vocabSize }) });
  const rate = adapted.config.lora_dropout;
  return {
    trainable: { model: adapted, trainable: adapted.trainableVariables, ...(rate > 0 && { trainingInputs: () => ({ loraDropout: loraDropout(rate, args.seed) }) }) },
    lora: adapted,
  };
}

/**
 * The arguments of a resumed run: the saved ones, which explicitly given
 * arguments must equal (ResumeMismatchError naming the first that differs).
 */
export function resumedArgs(saved: StoredRun, given: TrainingArguments, path: string): FinetuneArgs {
  const args = saved.meta.args as FinetuneArgs;
  for (const key of Object.keys(FINETUNE_DEFAULTS) as (keyof FinetuneArgs)[]) {
    const value = given[key];
    if (value !== undefined && value !== args[key]) throw new ResumeMismatchError(key, value, args[key], path);
  }
  return args;
}

/** Facts of the run stored beside the arguments, and checked on a resume. */
export interface RunFacts {
  base: { architecture: string; configSha256: string };
  data: { sha256: string; rows: number; tokens: number };
  lora: JsonObject | null;
  earlyStopping: { patience: number; threshold: number } | null;
}

export function checkSameRun(saved: StoredRun, facts: RunFacts, dir: string): void {
  const path = join(dir, CHECKPOINT_FILE);
  const was = saved.meta as unknown as RunFacts;
  if (was.base?.configSha256 !== facts.base.configSha256) {
    throw new FinetuneSettingsError('model', `{model} differs from the base model the run in ${dir} fine-tunes (its config.json changed)`);
  }
  if (was.data?.sha256 !== facts.data.sha256) {
    throw new FinetuneSettingsError('data', `{data} differs from the data the run in ${dir} was trained on (sha256 ${facts.data.sha256.slice(0, 12)}… vs ${String(was.data?.sha256).slice(0, 12)}…)`);
  }
  if (JSON.stringify(was.lora ?? null) !== JSON.stringify(facts.lora)) throw new ResumeMismatchError('lora', JSON.stringify(facts.lora), JSON.stringify(was.lora ?? null), path);
}
