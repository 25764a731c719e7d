/**
 * Training a GPT-2-architecture causal LM from scratch, nanoGPT style:
 * random windows of the token stream, AdamW with linear warmup then cosine
 * decay, global-norm clipping, periodic validation loss and a sample, and a
 * checkpoint at every evaluation that is both a Hugging Face GPT-2 model
 * directory and everything `resume` needs to continue bit for bit.
 *
 * Checkpoint directory (replaced atomically at each save):
 *   config.json, model.safetensors, generation_config.json   GPT2LMHeadModel
 *   tokenizer.json, tokenizer_config.json, ...                the tokenizer
 *   optimizer.safetensors                                     AdamW moments by slot name
 *   trainer_state.json                                        step, settings, data fingerprint, history
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../core/graph.js';
import { trace } from '../core/graph.js';
import * as F from '../core/ops/index.js';
import { Rng } from '../core/rng.js';
import type { Variable } from '../core/variable.js';
import { TextDataset, type TokenBatch } from '../data/text.js';
import { readJsonObject, type JsonObject } from '../io/hf-checkpoint.js';
import { recoverInterruptedSave, saveHfCheckpoint, type CheckpointFile } from '../io/hf-save.js';
import { resolveModelDir, repoCacheDir } from '../io/hub.js';
import { loadF32, serializeSafetensors } from '../io/safetensors.js';
import { sparseCategoricalCrossentropy } from '../losses/index.js';
import { assignTensors } from '../nn/index.js';
import { AdamW, schedules } from '../optim/index.js';
import { CompiledGraph, int64, type OrtTensor } from '../runtime/session.js';
import { generate } from '../text/generate.js';
import { CharTokenizer, Tokenizer, type TextTokenizer } from '../text/tokenizer.js';
import { StepRunner } from '../train/index.js';
import { CausalLM } from './causal-lm.js';
import { Gpt2, gpt2ConfigJson, gpt2Tensors, parseGpt2Config, type Gpt2Shape } from './gpt2/model.js';
import { unbindWeights } from './transformer/weights.js';

// ---------------------------------------------------------------------------------------------
// Settings

export interface LmTrainSettings extends Gpt2Shape {
  steps: number;
  batchSize: number;
  /** Peak learning rate, reached after warmup. */
  lr: number;
  /** The cosine decay ends at lr · minLrRatio (nanoGPT: lr / 10). */
  minLrRatio: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Global gradient-norm clip. */
  clipNorm: number;
  /** Evaluate, sample and checkpoint every this many steps (and after the last). */
  evalInterval: number;
  /** Batches of each split averaged per evaluation. */
  evalBatches: number;
  /** Tokens in each periodic sample. */
  sampleTokens: number;
  seed: number;
}

/**
 * Sized for char-level TinyShakespeare on 2 CPU cores: ~0.8M parameters, about
 * 10–15 minutes to a validation loss near 1.6 (nanoGPT's 6×384 model needs a GPU).
 */
export const GPT_DEFAULTS: Readonly<LmTrainSettings> = {
  layers: 4,
  heads: 4,
  embd: 128,
  blockSize: 128,
  dropout: 0,
  steps: 1500,
  batchSize: 32,
  lr: 2e-3,
  minLrRatio: 0.1,
  warmupSteps: 100,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.99,
  clipNorm: 1,
  evalInterval: 250,
  evalBatches: 8,
  sampleTokens: 300,
  seed: 0,
};

/** Settings that contradict themselves or the run being resumed: a usage error. */
export class LmSettingsError extends Error {
  override name = 'LmSettingsError';
}

/** A non-finite loss: training stopped and the last checkpoint was kept. */
export class LmDivergedError extends Error {
  override name = 'LmDivergedError';
  constructor(
    readonly step: number,
    readonly loss: number,
    readonly lastCheckpointStep: number | undefined,
    outDir: string | undefined,
  ) {
    const kept = lastCheckpointStep !== undefined && outDir ? `the checkpoint of step ${lastCheckpointStep} in ${outDir} is kept` : 'no checkpoint was written';
    super(`training diverged at step ${step}: the loss is ${loss}; ${kept}. Try a lower --lr.`);
  }
}

export function checkSettings(s: LmTrainSettings): void {
  const positive: (keyof LmTrainSettings)[] = ['layers', 'heads', 'embd', 'blockSize', 'steps', 'batchSize', 'evalInterval', 'evalBatches', 'sampleTokens'];
  for (const key of positive) {
    if (!Number.isInteger(s[key]) || s[key] < 1) throw new LmSettingsError(`GPT training: ${key} must be a positive integer, received ${s[key]}`);
  }
  if (s.embd % s.heads !== 0) throw new LmSettingsError(`GPT training: --embd ${s.embd} must be divisible by --heads ${s.heads}`);
  if (!(s.dropout >= 0 && s.dropout < 1)) throw new LmSettingsError(`GPT training: dropout must be in [0, 1), received ${s.dropout}`);
  if (!(s.lr > 0 && Number.isFinite(s.lr))) throw new LmSettingsError(`GPT training: lr must be a positive number, received ${s.lr}`);
  if (!Number.isInteger(s.warmupSteps) || s.warmupSteps < 0 || s.warmupSteps >= s.steps) {
    throw new LmSettingsError(`GPT training: warmupSteps must be an integer in [0, steps = ${s.steps}), received ${s.warmupSteps}`);
  }
}

/** Linear warmup from lr/(W+1) to lr over W steps, then cosine decay to lr·minLrRatio at the last step. */
export function lmSchedule(s: LmTrainSettings): (iteration: number) => number {
  return schedules.cosineDecay({
    initialLearningRate: s.lr / (s.warmupSteps + 1),
    warmupTarget: s.lr,
    warmupSteps: s.warmupSteps,
    decaySteps: s.steps - s.warmupSteps,
    alpha: s.minLrRatio,
  });
}

// ---------------------------------------------------------------------------------------------
// Tokenizers

export type TokenizerKind = 'char' | 'pretrained';

/** A tokenizer and the files that reproduce it in a checkpoint. */
export interface TrainingTokenizer {
  kind: TokenizerKind;
  tokenizer: TextTokenizer;
  files: Record<string, CheckpointFile>;
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'added_tokens.json', 'chat_template.jinja'];
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
    `--tokenizer gpt2: the GPT-2 tokenizer is not in the Hugging Face cache (looked in ${GPT2_REPOS.map((r) => repoCacheDir(r)).join(' and ')}). ` +
      'Training never downloads; pass --tokenizer DIR with a directory holding tokenizer.json (or vocab.json + merges.txt), or fetch gpt2 into the cache first.',
  );
}

/** `char` (vocabulary from `text`), `gpt2` (from the HF cache) or a tokenizer directory. */
export async function resolveTrainingTokenizer(spec: string, text: string): Promise<TrainingTokenizer> {
  if (spec === 'char') return charTrainingTokenizer(CharTokenizer.fromText(text));
  const dir = spec === 'gpt2' ? await cachedGpt2Dir() : spec;
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new LmSettingsError(`--tokenizer ${spec}: expected 'char', 'gpt2' or a tokenizer directory, and ${dir} is not a directory`);
  }
  try {
    return await pretrainedTrainingTokenizer(dir);
  } catch (err) {
    throw new LmSettingsError(`--tokenizer ${spec}: ${(err as Error).message}`);
  }
}

async function checkpointTokenizer(dir: string, kind: TokenizerKind): Promise<TrainingTokenizer> {
  return kind === 'char' ? charTrainingTokenizer(await CharTokenizer.load(dir)) : pretrainedTrainingTokenizer(dir);
}

// ---------------------------------------------------------------------------------------------
// The trainer: one training graph, one evaluation graph

export interface EvalReport {
  step: number;
  trainLoss: number;
  valLoss: number;
}

export interface DataFingerprint {
  sha256: string;
  characters: number;
}

export interface TrainerState {
  format: 'forja-lm-training';
  version: 1;
  step: number;
  settings: LmTrainSettings;
  tokenizer: TokenizerKind;
  data: DataFingerprint;
  history: EvalReport[];
}

const STATE_FILE = 'trainer_state.json';
const OPTIMIZER_FILE = 'optimizer.safetensors';

export class LmTrainer {
  /** Steps taken (the optimizer's iteration count). */
  get step(): number {
    return this.optimizer.iterations;
  }

  readonly history: EvalReport[] = [];

  private constructor(
    readonly model: Gpt2,
    readonly settings: LmTrainSettings,
    readonly dataset: TextDataset,
    readonly tokenizer: TrainingTokenizer,
    readonly data: DataFingerprint,
    private readonly optimizer: AdamW,
    private readonly runner: StepRunner,
    private readonly evaluator: CompiledGraph,
  ) {}

  static async create(model: Gpt2, settings: LmTrainSettings, dataset: TextDataset, tokenizer: TrainingTokenizer, data: DataFingerprint): Promise<LmTrainer> {
    const optimizer = new AdamW({
      learningRate: lmSchedule(settings),
      beta1: settings.beta1,
      beta2: settings.beta2,
      epsilon: 1e-8,
      weightDecay: settings.weightDecay,
      // As nanoGPT: decay matrices and embeddings, not biases or LayerNorm gains.
      excludeFromWeightDecay: (v) => v.shape.length < 2,
      clipNorm: settings.clipNorm,
    });
    const runner = await compileTrainStep(model, settings, optimizer);
    const evaluator = await compileEvaluator(model, settings);
    return new LmTrainer(model, settings, dataset, tokenizer, data, optimizer, runner, evaluator);
  }

  /** One optimizer step on training batch number `this.step`, with the learning rate it used. */
  async trainStep(): Promise<{ loss: number; committed: boolean; lr: number }> {
    const lr = this.optimizer.learningRateAt(this.step);
    fillBatch(this.runner.buffers, this.dataset.batch('train', this.step, this.settings));
    const { loss, committed } = await this.runner.run();
    return { loss, committed, lr };
  }

  /** Mean loss over the same `evalBatches` windows of each split every time. */
  async evaluate(): Promise<EvalReport> {
    const meanLoss = async (split: 'train' | 'val'): Promise<number> => {
      let total = 0;
      for (let i = 0; i < this.settings.evalBatches; i++) {
        const out = await this.evaluator.run(batchFeeds(this.dataset.batch(split, i, this.settings, 'eval')), ['loss']);
        total += (out.loss!.data as Float32Array)[0]!;
      }
      return total / this.settings.evalBatches;
    };
    return { step: this.step, trainLoss: await meanLoss('train'), valLoss: await meanLoss('val') };
  }

  /** Logits [batch, blockSize, vocab] of the current weights for `inputs` [batch, blockSize]. */
  async logits(inputs: BigInt64Array): Promise<Float32Array> {
    const { batchSize, blockSize } = this.settings;
    if (inputs.length !== batchSize * blockSize) throw new Error(`LmTrainer.logits: expected ${batchSize} × ${blockSize} ids, received ${inputs.length}`);
    const out = await this.evaluator.run({ input_ids: int64(inputs, [batchSize, blockSize]), targets: int64(inputs, [batchSize, blockSize]) }, ['logits']);
    return out.logits!.data as Float32Array;
  }

  /** `sampleTokens` sampled tokens (temperature 0.8, top-k 200), the context sliding when it is full. */
  async sample(): Promise<string> {
    const lm = await CausalLM.fromModel(this.model);
    try {
      const ids = await slidingGenerate(lm, samplePrompt(this.tokenizer.tokenizer, this.dataset), this.settings.sampleTokens, this.settings.seed);
      return this.tokenizer.tokenizer.decode(ids, { skipSpecialTokens: true });
    } finally {
      await lm.release();
    }
  }

  /** Write the Hugging Face checkpoint plus the state `resume` needs. */
  async save(dir: string): Promise<void> {
    const { tokenizer, model, settings } = this;
    const special = { bos: tokenizer.tokenizer.bosTokenId, eos: tokenizer.tokenizer.eosTokenId };
    const state: TrainerState = {
      format: 'forja-lm-training',
      version: 1,
      step: this.step,
      settings,
      tokenizer: tokenizer.kind,
      data: this.data,
      history: this.history,
    };
    const slots = new Map(this.optimizer.variables.map((v) => [v.name, { shape: v.shape, data: v.value }]));
    await saveHfCheckpoint(dir, {
      config: gpt2ConfigJson(settings, model.config.vocabSize, special),
      weights: unbindWeights(gpt2Tensors(model.config), model.weights),
      generationConfig: generationConfigJson(special),
      files: { ...tokenizer.files, [OPTIMIZER_FILE]: serializeSafetensors(slots), [STATE_FILE]: { ...state } },
    });
  }

  /** Continue a run saved in `dir` on the same data. */
  static async resume(dir: string, text: string): Promise<LmTrainer> {
    const state = await readTrainerState(dir);
    checkSameData(state, text, dir);
    const tokenizer = await checkpointTokenizer(dir, state.tokenizer);
    const dataset = TextDataset.fromText(text, tokenizer.tokenizer, { seed: state.settings.seed });
    const config = await readJsonObject(join(dir, 'config.json'), true);
    const model = Gpt2.fromCheckpoint(config, await loadF32(join(dir, 'model.safetensors')));
    const trainer = await LmTrainer.create(model, state.settings, dataset, tokenizer, state.data);
    await trainer.restoreOptimizer(join(dir, OPTIMIZER_FILE), state.step);
    trainer.history.push(...state.history);
    return trainer;
  }

  private async restoreOptimizer(path: string, step: number): Promise<void> {
    const slots = new Map(this.optimizer.variables.map((v) => [v.name, v]));
    assignTensors(slots, await loadF32(path), 'restore optimizer state', path);
    this.optimizer.iterations = step;
  }

  async release(): Promise<void> {
    await this.runner.release();
    await this.evaluator.release();
  }
}

/** A fresh model and trainer for `text`. */
export async function createLmTrainer(text: string, tokenizer: TrainingTokenizer, settings: LmTrainSettings): Promise<LmTrainer> {
  checkSettings(settings);
  const dataset = TextDataset.fromText(text, tokenizer.tokenizer, { seed: settings.seed });
  const config = gpt2ConfigJson(settings, tokenizer.tokenizer.vocabSize);
  const model = Gpt2.init(parseGpt2Config(config), new Rng(settings.seed));
  return LmTrainer.create(model, settings, dataset, tokenizer, fingerprint(text));
}

function fingerprint(text: string): DataFingerprint {
  return { sha256: createHash('sha256').update(text).digest('hex'), characters: text.length };
}

function checkSameData(state: TrainerState, text: string, dir: string): void {
  const { sha256 } = fingerprint(text);
  if (sha256 !== state.data.sha256) {
    throw new LmSettingsError(`--resume: --data differs from the text the run in ${dir} was trained on (sha256 ${sha256.slice(0, 12)}… vs ${state.data.sha256.slice(0, 12)}…)`);
  }
}

function generationConfigJson(special: { bos?: number | undefined; eos?: number | undefined }): JsonObject {
  // Char-level models have no end token: sampling reads far better than greedy there.
  return { _from_model_config: true, bos_token_id: special.bos ?? null, eos_token_id: special.eos ?? null, do_sample: true, temperature: 0.8, top_k: 200 };
}

/** The progress and settings of the run saved in `dir` (undoing a save a crash interrupted). */
export async function readTrainerState(dir: string): Promise<TrainerState> {
  await recoverInterruptedSave(dir);
  const path = join(dir, STATE_FILE);
  if (!fs.existsSync(path)) throw new LmSettingsError(`--resume: ${dir} holds no ${STATE_FILE}, so it is not a Forja GPT training checkpoint`);
  const json = await readJsonObject(path, true);
  if (json.format !== 'forja-lm-training' || typeof json.step !== 'number' || typeof json.settings !== 'object') {
    throw new Error(`${path}: not a Forja LM training state (format ${JSON.stringify(json.format)})`);
  }
  return json as unknown as TrainerState;
}

// ---------------------------------------------------------------------------------------------
// Graphs

function lossOf(model: Gpt2, inputIds: Tensor, targets: Tensor, dropout?: (x: Tensor) => Tensor): { loss: Tensor; logits: Tensor } {
  const { logits } = model.forward({ inputIds, ...(dropout && { dropout }) }); // (B, T, V)
  return { loss: sparseCategoricalCrossentropy(targets, logits, { fromLogits: true }), logits };
}

/** Each dropout site gets its own seed: two nodes with one seed would draw the same mask. */
function dropoutSites(rate: number, seed: number): ((x: Tensor) => Tensor) | undefined {
  if (rate === 0) return undefined;
  let site = 0;
  return (x) => F.dropout(x, rate, { training: true, seed: seed * 1000 + site++ });
}

function compileTrainStep(model: Gpt2, s: LmTrainSettings, optimizer: AdamW): Promise<StepRunner> {
  const shape = [s.batchSize, s.blockSize];
  const dropout = dropoutSites(s.dropout, s.seed);
  return StepRunner.compile({
    name: 'gpt_train_step',
    inputs: [
      { name: 'input_ids', shape, dtype: 'int64' },
      { name: 'targets', shape, dtype: 'int64' },
    ],
    forward: ({ input_ids, targets }) => ({ loss: lossOf(model, input_ids!, targets!, dropout).loss, outputs: {} }),
    trainable: (): Variable[] => [...model.weights.values()],
    optimizer,
  });
}

function compileEvaluator(model: Gpt2, s: LmTrainSettings): Promise<CompiledGraph> {
  return CompiledGraph.compile(
    trace((g) => {
      const inputIds = g.input('input_ids', [s.batchSize, s.blockSize], 'int64');
      const targets = g.input('targets', [s.batchSize, s.blockSize], 'int64');
      const { loss, logits } = lossOf(model, inputIds, targets);
      return { graph: g, inputs: [inputIds, targets], outputs: { loss, logits }, variables: 'inputs' as const, name: 'gpt_eval' };
    }),
  );
}

function fillBatch(buffers: StepRunner['buffers'], batch: TokenBatch): void {
  (buffers.input_ids as BigInt64Array).set(batch.inputs);
  (buffers.targets as BigInt64Array).set(batch.targets);
}

function batchFeeds(batch: TokenBatch): Record<string, OrtTensor> {
  const dims = [batch.batchSize, batch.blockSize];
  return { input_ids: int64(batch.inputs, dims), targets: int64(batch.targets, dims) };
}

// ---------------------------------------------------------------------------------------------
// Samples

/** A newline when the vocabulary has one (char-level), else BOS/EOS, else the first validation token. */
function samplePrompt(tokenizer: TextTokenizer, dataset: TextDataset): number[] {
  const newline = (() => {
    try {
      return tokenizer.encode('\n', { addSpecialTokens: false });
    } catch {
      return [];
    }
  })();
  if (newline.length > 0) return newline;
  const special = tokenizer.bosTokenId ?? tokenizer.eosTokenId;
  return special !== undefined ? [special] : [dataset.val[0] ?? 0];
}

/**
 * `count` new tokens; when the context is full, generation restarts from the
 * last half of it (a KV cache cannot slide past its positions).
 */
async function slidingGenerate(lm: CausalLM, prompt: number[], count: number, seed: number): Promise<number[]> {
  const produced: number[] = [];
  let context = prompt.slice(-Math.floor(lm.maxPositions / 2));
  for (let round = 0; produced.length < count; round++) {
    const room = Math.min(lm.maxPositions - context.length, count - produced.length);
    const out = await generate(lm, [context], { max_new_tokens: room, do_sample: true, temperature: 0.8, top_k: 200, seed: seed + round });
    const fresh = out.newTokens[0]!;
    if (fresh.length === 0) break;
    produced.push(...fresh);
    context = [...context, ...fresh].slice(-Math.floor(lm.maxPositions / 2));
  }
  return produced;
}

// ---------------------------------------------------------------------------------------------
// A run: fresh or resumed, evaluation and checkpoints on schedule

export interface LmRunHooks {
  /** Once the graphs are compiled, with the run's settings and the step it starts from. */
  start?(settings: LmTrainSettings, step: number): void;
  /** After every committed step. */
  step?(step: number, loss: number, lr: number): void;
  /** After every evaluation, with the sample drawn then. */
  evaluated?(report: EvalReport, sample: string): void;
  /** After every checkpoint. */
  saved?(step: number, dir: string): void;
}

export interface LmRunOptions {
  /** The text to train on. */
  text: string;
  /** 'char', 'gpt2' or a tokenizer directory (ignored when resuming: the checkpoint's is used). */
  tokenizer?: string;
  /** Settings given explicitly; the rest come from GPT_DEFAULTS, or the checkpoint when resuming. */
  settings?: Partial<LmTrainSettings>;
  /** Checkpoint directory; without one nothing is saved. */
  outDir?: string;
  resume?: boolean;
  hooks?: LmRunHooks;
  /** Stops after the current step; a checkpoint is written first. */
  signal?: AbortSignal;
}

export interface LmRunResult {
  /** Steps completed, the resumed ones included. */
  steps: number;
  train_loss: number;
  val_loss: number;
  /** Wall time of this process's run, compilation and evaluation included. */
  seconds: number;
  /** Training tokens per second of step time in this process. */
  tokens_per_second: number;
  sample: string;
  out: string | null;
  /** True when the signal stopped the run before its last step. */
  interrupted: boolean;
}

/** Settings given for a resumed run must match the checkpoint's. */
function checkResumeSettings(saved: LmTrainSettings, given: Partial<LmTrainSettings>, dir: string): void {
  for (const [key, value] of Object.entries(given) as [keyof LmTrainSettings, number][]) {
    if (value !== undefined && value !== saved[key]) {
      throw new LmSettingsError(`--resume: ${key} ${value} differs from the run in ${dir} (${key} ${saved[key]}); drop the flag or train into a new --out`);
    }
  }
}

async function openRun(options: LmRunOptions): Promise<LmTrainer> {
  const given = options.settings ?? {};
  if (options.resume) {
    const dir = options.outDir;
    if (!dir) throw new LmSettingsError('--resume needs --out, the directory of the run to continue');
    const state = await readTrainerState(dir);
    checkSameData(state, options.text, dir);
    checkResumeSettings(state.settings, given, dir);
    if (state.step >= state.settings.steps) throw new LmSettingsError(`--resume: the run in ${dir} already finished its ${state.settings.steps} steps`);
    return LmTrainer.resume(dir, options.text);
  }
  if (options.outDir && fs.existsSync(join(options.outDir, STATE_FILE))) {
    throw new LmSettingsError(`${options.outDir} already holds a training run; pass --resume to continue it, or choose another --out`);
  }
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const settings: LmTrainSettings = { ...GPT_DEFAULTS, ...defined };
  if (given.warmupSteps === undefined) settings.warmupSteps = Math.min(GPT_DEFAULTS.warmupSteps, Math.floor(settings.steps / 10));
  checkSettings(settings);
  const tokenizer = await resolveTrainingTokenizer(options.tokenizer ?? 'char', options.text);
  return createLmTrainer(options.text, tokenizer, settings);
}

/** Train, evaluating and checkpointing every evalInterval steps and after the last. */
export async function runLmTraining(options: LmRunOptions): Promise<LmRunResult> {
  const started = performance.now();
  const trainer = await openRun(options);
  const { settings } = trainer;
  let stepSeconds = 0;
  let stepsHere = 0;
  let lastSaved: number | undefined = options.resume ? trainer.step : undefined;
  let sample = '';
  let report: EvalReport | undefined;
  options.hooks?.start?.(settings, trainer.step);
  try {
    while (trainer.step < settings.steps) {
      const t0 = performance.now();
      const { loss, committed, lr } = await trainer.trainStep();
      if (!committed) throw new LmDivergedError(trainer.step + 1, loss, lastSaved, options.outDir);
      stepSeconds += (performance.now() - t0) / 1000;
      stepsHere++;
      options.hooks?.step?.(trainer.step, loss, lr);
      const last = trainer.step === settings.steps || options.signal?.aborted === true;
      if (trainer.step % settings.evalInterval !== 0 && !last) continue;
      ({ report, sample } = await evaluateAndSample(trainer, lastSaved, options));
      if (options.outDir) {
        await trainer.save(options.outDir);
        lastSaved = trainer.step;
        options.hooks?.saved?.(trainer.step, options.outDir);
      }
      if (options.signal?.aborted) break;
    }
  } finally {
    await trainer.release();
  }
  return {
    steps: trainer.step,
    train_loss: report!.trainLoss,
    val_loss: report!.valLoss,
    seconds: (performance.now() - started) / 1000,
    tokens_per_second: stepSeconds > 0 ? (stepsHere * settings.batchSize * settings.blockSize) / stepSeconds : 0,
    sample,
    out: options.outDir ?? null,
    interrupted: trainer.step < settings.steps,
  };
}

async function evaluateAndSample(trainer: LmTrainer, lastSaved: number | undefined, options: LmRunOptions): Promise<{ report: EvalReport; sample: string }> {
  const report = await trainer.evaluate();
  if (!Number.isFinite(report.valLoss) || !Number.isFinite(report.trainLoss)) {
    throw new LmDivergedError(report.step, Number.isFinite(report.valLoss) ? report.trainLoss : report.valLoss, lastSaved, options.outDir);
  }
  trainer.history.push(report);
  const sample = await trainer.sample();
  options.hooks?.evaluated?.(report, sample);
  return { report, sample };
}
