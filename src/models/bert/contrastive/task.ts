/**
 * Contrastive fine-tuning of a sentence-transformers BERT as a TrainingTask:
 * MultipleNegativesRankingLoss over (query, positive passage) batches with
 * in-batch negatives, AdamW with linear warmup and decay, global-norm
 * clipping (transformers' Trainer defaults, as sentence-transformers trains).
 *
 * One step is one graph: both towers are the same Bert (one set of weights,
 * read twice), each pooled and normalised as the model's modules say, then
 * the loss, its gradients and the AdamW update. Texts get the embedder's
 * query/passage prefixes and are cut to `maxLength` tokens. Batches are
 * padded to a multiple of 16 tokens per tower, so a few graph signatures
 * serve every step. A Trainer epoch is one pass over the pairs; the batches
 * of an epoch are a pure function of (seed, epoch), so a resumed run takes
 * the same batches. As models/finetune, the encoder runs without dropout:
 * a session's dropout stream could not be resumed bit for bit.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { trace, type Tensor } from '../../../core/graph.js';
import type { Variable } from '../../../core/variable.js';
import { AdamW } from '../../../optim/index.js';
import { CompileCache, CompiledGraph, int64 } from '../../../runtime/session.js';
import { GradientAccumulator } from '../../../train/accumulation.js';
import type { Logs } from '../../../train/history.js';
import type { StepInputSpec } from '../../../train/step-runner.js';
import type { Position, StepResult, TrainingState, TrainingTask } from '../../../train/trainer.js';
import { ConfigError } from '../../transformer/config.js';
import { lrSchedule } from '../../finetune/args.js';
import type { SentenceEmbedder } from '../embedder.js';
import { SpecialTokenTemplate, type EncodedText } from '../encoding.js';
import { l2Normalize, pool } from '../pooling.js';
import { DEFAULT_SCALE, multipleNegativesRankingLoss } from './loss.js';
import { epochBatches, type ContrastiveData } from './pairs.js';

export const CONTRASTIVE_RUN_KIND = 'forja-contrastive';

export interface ContrastiveSettings {
  epochs: number;
  /** Pairs per batch, so batchSize − 1 in-batch negatives per query. */
  batchSize: number;
  learningRate: number;
  /** Fraction of all steps spent warming the rate up from 0. */
  warmupRatio: number;
  weightDecay: number;
  /** Global gradient norm clip; 0 turns it off. */
  maxGradNorm: number;
  /** Tokens per text, special tokens included (at most the model's max_seq_length). */
  maxLength: number;
  scale: number;
  symmetric: boolean;
  seed: number;
}

export const CONTRASTIVE_DEFAULTS: ContrastiveSettings = {
  epochs: 1,
  batchSize: 32,
  learningRate: 5e-5,
  warmupRatio: 0.1,
  weightDecay: 0.01,
  maxGradNorm: 1,
  maxLength: 128,
  scale: DEFAULT_SCALE,
  symmetric: false,
  seed: 42,
};

/** Padded lengths are multiples of this (fewer graph signatures). */
const LENGTH_STEP = 16;

interface Signature {
  rows: number;
  queryLength: number;
  passageLength: number;
}
const keyOf = (s: Signature): string => `${s.rows}x${s.queryLength}x${s.passageLength}`;
const signatureOfKey = (key: string): Signature => {
  const [rows, queryLength, passageLength] = key.split('x').map(Number) as [number, number, number];
  return { rows, queryLength, passageLength };
};

/** The graph inputs of one signature. */
function towerInputs(s: Signature): StepInputSpec[] {
  const q = [s.rows, s.queryLength];
  const p = [s.rows, s.passageLength];
  return [
    { name: 'query_input_ids', shape: q, dtype: 'int64' },
    { name: 'query_attention_mask', shape: q, dtype: 'int64' },
    { name: 'passage_input_ids', shape: p, dtype: 'int64' },
    { name: 'passage_attention_mask', shape: p, dtype: 'int64' },
  ];
}

/** Checked settings: defaults filled, maxLength capped at what the embedder reads. */
export function contrastiveSettings(given: Partial<ContrastiveSettings>, embedder: SentenceEmbedder): ContrastiveSettings {
  const s: ContrastiveSettings = { ...CONTRASTIVE_DEFAULTS, maxLength: Math.min(CONTRASTIVE_DEFAULTS.maxLength, embedder.maxTokens), ...given };
  const bad = (key: keyof ContrastiveSettings, want: string): never => {
    throw new ConfigError(`contrastive fine-tuning: ${key} must be ${want}, received ${JSON.stringify(s[key])}`);
  };
  for (const key of ['epochs', 'batchSize', 'maxLength'] as const) if (!Number.isInteger(s[key]) || s[key] < 1) bad(key, 'a positive integer');
  if (s.maxLength > embedder.maxTokens) bad('maxLength', `at most the ${embedder.maxTokens} tokens ${embedder.modelId} reads`);
  if (s.maxLength < 2) bad('maxLength', 'at least 2');
  for (const key of ['learningRate', 'weightDecay', 'maxGradNorm'] as const) if (!(Number.isFinite(s[key]) && s[key] >= 0)) bad(key, 'a finite number ≥ 0');
  if (!(s.warmupRatio >= 0 && s.warmupRatio <= 1)) bad('warmupRatio', 'from 0 to 1');
  if (!(Number.isFinite(s.scale) && s.scale > 0)) bad('scale', 'a positive number');
  if (!Number.isInteger(s.seed)) bad('seed', 'an integer');
  return s;
}

export class ContrastiveTask implements TrainingTask {
  readonly epochs: number;
  readonly totalSteps: number;
  readonly optimizer: AdamW;
  private readonly batches: number[][][];
  private readonly accumulator: GradientAccumulator<string>;
  private readonly evaluators = new CompileCache<string, CompiledGraph>();
  private readonly validationBatches: number[][];

  private constructor(
    readonly embedder: SentenceEmbedder,
    readonly data: ContrastiveData,
    readonly settings: ContrastiveSettings,
    private readonly encoded: { queries: EncodedText[]; passages: EncodedText[] },
    readonly validation: { data: ContrastiveData; encoded: { queries: EncodedText[]; passages: EncodedText[] } } | undefined,
  ) {
    const s = settings;
    if (data.pairs.length === 0) throw new ConfigError('contrastive fine-tuning: no training pairs');
    this.epochs = s.epochs;
    this.batches = Array.from({ length: s.epochs }, (_, e) => epochBatches(data, s.batchSize, s.seed, e));
    this.totalSteps = this.batches.reduce((n, b) => n + b.length, 0);
    this.validationBatches = validation ? epochBatches(validation.data, s.batchSize, s.seed, 0) : [];
    const warmup = Math.ceil(s.warmupRatio * this.totalSteps);
    this.optimizer = new AdamW({
      learningRate: lrSchedule('linear', s.learningRate, warmup, this.totalSteps),
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: s.weightDecay,
      // As transformers' Trainer: biases and LayerNorm gains (the rank-1 tensors) are not decayed.
      excludeFromWeightDecay: (v) => v.shape.length < 2,
      ...(s.maxGradNorm > 0 && { clipNorm: s.maxGradNorm }),
    });
    // The moments exist from the start, so a checkpoint can be restored before anything compiles.
    for (const v of this.trainable) this.optimizer.slotsFor(v);
    this.accumulator = new GradientAccumulator<string>({
      name: 'contrastive',
      microBatches: 1,
      inputs: (key) => towerInputs(signatureOfKey(key)),
      forward: (inputs) => ({ loss: this.lossOf(inputs), outputs: {} }),
      trainable: () => this.trainable,
      optimizer: this.optimizer,
    });
  }

  /** Tokenizes every pair (and the validation pairs) once; nothing is compiled until the first step. */
  static async create(embedder: SentenceEmbedder, data: ContrastiveData, settings: Partial<ContrastiveSettings> = {}, validation?: ContrastiveData): Promise<ContrastiveTask> {
    const s = contrastiveSettings(settings, embedder);
    const tokenizerPath = join(embedder.dir, 'tokenizer.json');
    const template = SpecialTokenTemplate.fromTokenizerJson(JSON.parse(await readFile(tokenizerPath, 'utf8')) as Record<string, unknown>, tokenizerPath);
    const encode = (d: ContrastiveData) => ({
      queries: d.pairs.map((p) => encodeText(embedder, template, p.query, 'query', s.maxLength)),
      passages: d.pairs.map((p) => encodeText(embedder, template, p.passage, 'passage', s.maxLength)),
    });
    return new ContrastiveTask(embedder, data, s, encode(data), validation && { data: validation, encoded: encode(validation) });
  }

  get trainable(): Variable[] {
    return [...this.embedder.model.weights.values()];
  }

  stepsInEpoch(epoch: number): number {
    return this.batches[epoch]?.length ?? 0;
  }

  /** The pair indices of each batch of `epoch`. */
  batchesOf(epoch: number): readonly (readonly number[])[] {
    return this.batches[epoch] ?? [];
  }

  /** Compile the step graphs of every signature the run will use (so step times exclude compiling). */
  async prepare(): Promise<void> {
    await this.accumulator.prepare(this.batches.flat().map((rows) => keyOf(this.signatureOf(rows, this.encoded))));
  }

  async trainStep(at: Position): Promise<StepResult> {
    if (this.optimizer.iterations !== at.globalStep) {
      throw new Error(`internal: the optimizer has taken ${this.optimizer.iterations} steps but the run is at step ${at.globalStep}`);
    }
    const rows = this.batches[at.epoch]?.[at.step];
    if (!rows) throw new Error(`internal: epoch ${at.epoch} has no step ${at.step}`);
    const lr = this.optimizer.learningRateAt(at.globalStep);
    const signature = this.signatureOf(rows, this.encoded);
    const { loss } = await this.accumulator.step([{ key: keyOf(signature), fill: (buffers) => fillTowers(buffers, rows, this.encoded, signature, this.embedder.padId) }]);
    return { logs: { loss, lr }, weight: rows.length };
  }

  /** val_loss: the pair-weighted mean loss of the validation pairs' fixed batches. */
  async validate(): Promise<Logs> {
    if (!this.validation) return {};
    return { val_loss: await this.meanLoss(this.validationBatches, this.validation.encoded) };
  }

  /** The mean loss of `batches` of the training pairs with the current weights (no update). */
  async evaluateBatches(batches: readonly (readonly number[])[]): Promise<number> {
    return this.meanLoss(batches, this.encoded);
  }

  private async meanLoss(batches: readonly (readonly number[])[], encoded: { queries: EncodedText[]; passages: EncodedText[] }): Promise<number> {
    let sum = 0;
    let count = 0;
    for (const rows of batches) {
      const signature = this.signatureOf(rows, encoded);
      const graph = await this.evaluators.get(keyOf(signature), () => this.compileEvaluator(signature));
      const buffers = Object.fromEntries(towerInputs(signature).map((i) => [i.name, new BigInt64Array(i.shape.reduce<number>((a, d) => a * (d as number), 1))]));
      fillTowers(buffers, rows, encoded, signature, this.embedder.padId);
      const feeds = Object.fromEntries(towerInputs(signature).map((i) => [i.name, int64(buffers[i.name]!, i.shape as number[])]));
      const out = await graph.run(feeds, ['loss']);
      sum += (out.loss!.data as Float32Array)[0]! * rows.length;
      count += rows.length;
    }
    return sum / Math.max(count, 1);
  }

  private compileEvaluator(signature: Signature): Promise<CompiledGraph> {
    return CompiledGraph.compile(
      trace((g) => {
        const specs = towerInputs(signature);
        const inputs = Object.fromEntries(specs.map((i) => [i.name, g.input(i.name, i.shape, i.dtype)]));
        return { graph: g, inputs: Object.values(inputs), outputs: { loss: this.lossOf(inputs) }, variables: 'inputs' as const, name: `contrastive_eval_${keyOf(signature)}` };
      }),
    );
  }

  /** Both towers through the one Bert, pooled and normalised as the embedder does, then the ranking loss. */
  private lossOf(inputs: Record<string, Tensor>): Tensor {
    const { model, pooling, normalize } = this.embedder;
    const embed = (ids: Tensor, mask: Tensor): Tensor => {
      const pooled = pool(model.encode({ inputIds: ids, attentionMask: mask }), mask, pooling);
      return normalize ? l2Normalize(pooled) : pooled;
    };
    const q = embed(inputs.query_input_ids!, inputs.query_attention_mask!);
    const p = embed(inputs.passage_input_ids!, inputs.passage_attention_mask!);
    return multipleNegativesRankingLoss(q, p, { scale: this.settings.scale, symmetric: this.settings.symmetric, normalized: normalize });
  }

  private signatureOf(rows: readonly number[], encoded: { queries: EncodedText[]; passages: EncodedText[] }): Signature {
    const padded = (texts: EncodedText[]): number => {
      const longest = Math.max(1, ...rows.map((i) => texts[i]!.ids.length));
      return Math.min(this.settings.maxLength, Math.ceil(longest / LENGTH_STEP) * LENGTH_STEP);
    };
    return { rows: rows.length, queryLength: padded(encoded.queries), passageLength: padded(encoded.passages) };
  }

  /** Weights and AdamW moments by stable names, and the optimizer's step count. */
  state(): TrainingState {
    const variables = new Map<string, Variable>();
    for (const v of this.trainable) variables.set(v.name, v);
    for (const slot of this.optimizer.variables) variables.set(slot.name, slot);
    return { variables, optimizers: { adamw: this.optimizer } };
  }

  meta(): Record<string, unknown> {
    return { kind: CONTRASTIVE_RUN_KIND, base: this.embedder.modelId, settings: this.settings, pairs: this.data.pairs.length };
  }

  /**
   * Releases the step and evaluation graphs, and the embedder's compiled sessions, which hold the
   * weights they were compiled with: its next embed() recompiles with the trained weights.
   */
  async release(): Promise<void> {
    await this.accumulator.release();
    await this.evaluators.clear();
    await this.embedder.release();
  }
}

/** The model input of one text, as SentenceEmbedder.tokenize makes it, cut to maxLength tokens. */
export function encodeText(embedder: SentenceEmbedder, template: SpecialTokenTemplate, text: string, role: 'query' | 'passage', maxLength: number): EncodedText {
  const ids = embedder.tokenizer.encode(embedder.prefixes[role] + text, { addSpecialTokens: false });
  const room = Math.max(0, maxLength - template.singleSpecials);
  return template.single(ids.length > room ? ids.slice(0, room) : ids);
}

/** Copy the batch's query and passage rows into the [rows, length] buffers, right-padded. */
function fillTowers(
  buffers: Readonly<Record<string, unknown>>,
  rows: readonly number[],
  encoded: { queries: EncodedText[]; passages: EncodedText[] },
  s: Signature,
  padId: number,
): void {
  const put = (tower: 'query' | 'passage', texts: EncodedText[], length: number): void => {
    const ids = buffers[`${tower}_input_ids`] as BigInt64Array;
    const mask = buffers[`${tower}_attention_mask`] as BigInt64Array;
    ids.fill(BigInt(padId));
    mask.fill(0n);
    rows.forEach((i, r) => {
      const t = texts[i]!.ids;
      if (t.length > length) throw new Error(`internal: a ${tower} of ${t.length} tokens in a batch padded to ${length}`);
      for (let j = 0; j < t.length; j++) {
        ids[r * length + j] = BigInt(t[j]!);
        mask[r * length + j] = 1n;
      }
    });
  };
  put('query', encoded.queries, s.queryLength);
  put('passage', encoded.passages, s.passageLength);
}
