/**
 * Causal-LM training as a TrainingTask for the Trainer, nanoGPT style: random
 * windows of the token stream, AdamW with warmup and cosine decay, global-norm
 * clipping. An "epoch" is an evaluation interval: epoch e has
 * min(evalInterval, steps − e·evalInterval) steps, and its validation is the
 * mean loss of the same evaluation windows of each split every time. The
 * batch of a step is a pure function of the global step, so a restored run
 * draws exactly the batches an uninterrupted one would.
 */
import { trace, type Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { Rng } from '../../core/rng.js';
import type { Variable } from '../../core/variable.js';
import type { TextDataset, TokenBatch } from '../../data/text.js';
import { sparseCategoricalCrossentropy } from '../../losses/index.js';
import { AdamW } from '../../optim/index.js';
import { CompiledGraph, int64, type OrtTensor } from '../../runtime/session.js';
import type { Logs } from '../../train/history.js';
import { StepRunner } from '../../train/step-runner.js';
import type { Position, StepResult, TrainingState, TrainingTask } from '../../train/trainer.js';
import { scratchSpec } from '../registry.js';
import type { ConfigJson } from '../transformer/config.js';
import type { CausalLmModel } from '../transformer/types.js';
import { unbindWeights, type CheckpointTensor } from '../transformer/weights.js';
import type { DataFingerprint } from './data.js';
import { lmSchedule, type LmTrainSettings } from './settings.js';
import type { TokenizerKind, TrainingTokenizer } from './tokenizers.js';

/** What a checkpoint of an LM run holds besides tensors and position (the Trainer's task meta). */
export type LmRunMeta = {
  kind: typeof LM_RUN_KIND;
  settings: LmTrainSettings;
  tokenizer: TokenizerKind;
  data: DataFingerprint;
};

export const LM_RUN_KIND = 'forja-lm';

export interface EvalReport {
  /** Steps done when evaluated. */
  step: number;
  trainLoss: number;
  valLoss: number;
}

export interface LmTaskParts {
  settings: LmTrainSettings;
  model: CausalLmModel;
  /** The config.json the model was built from. */
  config: ConfigJson;
  dataset: TextDataset;
  tokenizer: TrainingTokenizer;
  data: DataFingerprint;
}

/** A fresh, seeded model of the settings' architecture and shape over the tokenizer's vocabulary. */
export function initialModel(settings: LmTrainSettings, tokenizer: TrainingTokenizer): { model: CausalLmModel; config: ConfigJson } {
  const { scratch } = scratchSpec(settings.architecture);
  const t = tokenizer.tokenizer;
  const config = scratch.configJson(settings, t.vocabSize, { bos: t.bosTokenId, eos: t.eosTokenId });
  return { model: scratch.init(config, new Rng(settings.seed)), config };
}

export class LmTask implements TrainingTask {
  readonly epochs: number;

  private constructor(
    readonly parts: LmTaskParts,
    readonly optimizer: AdamW,
    private readonly runner: StepRunner,
    private readonly evaluator: CompiledGraph,
  ) {
    this.epochs = Math.ceil(parts.settings.steps / parts.settings.evalInterval);
  }

  /** Compile the training step and the evaluation graph for `parts`. */
  static async create(parts: LmTaskParts): Promise<LmTask> {
    const s = parts.settings;
    const optimizer = new AdamW({
      learningRate: lmSchedule(s),
      beta1: s.beta1,
      beta2: s.beta2,
      epsilon: 1e-8,
      weightDecay: s.weightDecay,
      // As nanoGPT: decay matrices and embeddings, not biases or norm gains.
      excludeFromWeightDecay: (v) => v.shape.length < 2,
      clipNorm: s.clipNorm,
    });
    const runner = await compileTrainStep(parts.model, s, optimizer);
    const evaluator = await compileEvaluator(parts.model, s).catch(async (err: unknown) => {
      await runner.release();
      throw err;
    });
    return new LmTask(parts, optimizer, runner, evaluator);
  }

  get settings(): LmTrainSettings {
    return this.parts.settings;
  }

  get model(): CausalLmModel {
    return this.parts.model;
  }

  stepsInEpoch(epoch: number): number {
    const { evalInterval, steps } = this.settings;
    return Math.min(evalInterval, steps - epoch * evalInterval);
  }

  /** One optimizer step on training batch number `at.globalStep`, logging the loss and the rate it used. */
  async trainStep(at: Position): Promise<StepResult> {
    const { batchSize, blockSize } = this.settings;
    if (this.optimizer.iterations !== at.globalStep) {
      throw new Error(`internal: the optimizer has taken ${this.optimizer.iterations} steps but the run is at step ${at.globalStep}`);
    }
    const lr = this.optimizer.learningRateAt(at.globalStep);
    const batch = this.parts.dataset.batch('train', at.globalStep, this.settings);
    (this.runner.buffers.input_ids as BigInt64Array).set(batch.inputs);
    (this.runner.buffers.targets as BigInt64Array).set(batch.targets);
    const { loss } = await this.runner.run();
    return { logs: { loss, lr }, weight: batchSize * blockSize };
  }

  async validate(): Promise<Logs> {
    const { trainLoss, valLoss } = await this.evaluate();
    return { train_loss: trainLoss, val_loss: valLoss };
  }

  /** Mean loss over the same `evalBatches` windows of each split every time. */
  async evaluate(): Promise<EvalReport> {
    const { evalBatches } = this.settings;
    const meanLoss = async (split: 'train' | 'val'): Promise<number> => {
      let total = 0;
      for (let i = 0; i < evalBatches; i++) {
        const out = await this.evaluator.run(batchFeeds(this.parts.dataset.batch(split, i, this.settings, 'eval')), ['loss']);
        total += (out.loss!.data as Float32Array)[0]!;
      }
      return total / evalBatches;
    };
    return { step: this.optimizer.iterations, trainLoss: await meanLoss('train'), valLoss: await meanLoss('val') };
  }

  /** Logits [batch, blockSize, vocab] of the current weights for `inputs` [batch, blockSize]. */
  async logits(inputs: BigInt64Array): Promise<Float32Array> {
    const { batchSize, blockSize } = this.settings;
    if (inputs.length !== batchSize * blockSize) throw new Error(`LmTask.logits: expected ${batchSize} × ${blockSize} ids, received ${inputs.length}`);
    const dims = [batchSize, blockSize];
    const out = await this.evaluator.run({ input_ids: int64(inputs, dims), targets: int64(inputs, dims) }, ['logits']);
    return out.logits!.data as Float32Array;
  }

  /** Weights and AdamW moments by stable names, and the optimizer's step count. */
  state(): TrainingState {
    const variables = new Map<string, Variable>(this.model.weights);
    for (const slot of this.optimizer.variables) variables.set(slot.name, slot);
    return { variables, optimizers: { adamw: this.optimizer } };
  }

  meta(): LmRunMeta {
    const { settings, tokenizer, data } = this.parts;
    return { kind: LM_RUN_KIND, settings, tokenizer: tokenizer.kind, data };
  }

  /** The weights under their checkpoint names and in checkpoint layout, for model.safetensors. */
  checkpointWeights(): Map<string, CheckpointTensor> {
    return unbindWeights(scratchSpec(this.settings.architecture).tensors(this.parts.config), this.model.weights);
  }

  get parameterCount(): number {
    let n = 0;
    for (const v of this.model.weights.values()) n += v.size;
    return n;
  }

  async release(): Promise<void> {
    await this.runner.release();
    await this.evaluator.release();
  }
}

function lossOf(model: CausalLmModel, inputIds: Tensor, targets: Tensor, dropout?: (x: Tensor) => Tensor): { loss: Tensor; logits: Tensor } {
  const { logits } = model.forward({ inputIds, ...(dropout && { dropout }) }); // (B, T, V)
  return { loss: sparseCategoricalCrossentropy(targets, logits, { fromLogits: true }), logits };
}

/** Each dropout site gets its own seed: two nodes with one seed would draw the same mask. */
function dropoutSites(rate: number, seed: number): ((x: Tensor) => Tensor) | undefined {
  if (rate === 0) return undefined;
  let site = 0;
  return (x) => F.dropout(x, rate, { training: true, seed: seed * 1000 + site++ });
}

function compileTrainStep(model: CausalLmModel, s: LmTrainSettings, optimizer: AdamW): Promise<StepRunner> {
  const shape = [s.batchSize, s.blockSize];
  const dropout = dropoutSites(s.dropout, s.seed);
  return StepRunner.compile({
    name: 'lm_train_step',
    inputs: [
      { name: 'input_ids', shape, dtype: 'int64' },
      { name: 'targets', shape, dtype: 'int64' },
    ],
    forward: ({ input_ids, targets }) => ({ loss: lossOf(model, input_ids!, targets!, dropout).loss, outputs: {} }),
    trainable: (): Variable[] => [...model.weights.values()],
    optimizer,
  });
}

function compileEvaluator(model: CausalLmModel, s: LmTrainSettings): Promise<CompiledGraph> {
  return CompiledGraph.compile(
    trace((g) => {
      const inputIds = g.input('input_ids', [s.batchSize, s.blockSize], 'int64');
      const targets = g.input('targets', [s.batchSize, s.blockSize], 'int64');
      const { loss, logits } = lossOf(model, inputIds, targets);
      return { graph: g, inputs: [inputIds, targets], outputs: { loss, logits }, variables: 'inputs' as const, name: 'lm_eval' };
    }),
  );
}

function batchFeeds(batch: TokenBatch): Record<string, OrtTensor> {
  const dims = [batch.batchSize, batch.blockSize];
  return { input_ids: int64(batch.inputs, dims), targets: int64(batch.targets, dims) };
}
