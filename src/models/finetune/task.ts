/**
 * Fine-tuning a causal LM as a TrainingTask for the Trainer. Full
 * fine-tuning and LoRA are the same task: what trains is a parameter (every
 * weight, or the adapters over a frozen base that the graph reads and never
 * copies), and the optimizer holds moments for what trains only.
 *
 * One step is one AdamW update (HF's schedules, clipping, weight decay but on
 * biases and norms) over gradient_accumulation_steps micro-batches. A Trainer
 * "epoch" is an evaluation interval of eval_steps steps, as in models/lm; its
 * validation gives val_loss (the mean over the supervised tokens of the whole
 * validation split) and val_perplexity = exp(val_loss).
 *
 * The base model runs without dropout (transformers applies its config's in
 * training): a dropout mask comes from a session's own random stream, which a
 * resumed run could not continue bit for bit. LoRA's lora_dropout is applied
 * when its config asks, at that cost.
 */
import type { Variable } from '../../core/variable.js';
import { allocate, type HostData } from '../../nn/index.js';
import { AdamW } from '../../optim/index.js';
import { CompileCache, CompiledGraph, viewTensor, type OrtTensor } from '../../runtime/session.js';
import { GradientAccumulator, type MicroBatch } from '../../train/accumulation.js';
import type { Logs } from '../../train/history.js';
import type { Position, StepResult, TrainingState, TrainingTask } from '../../train/trainer.js';
import { lrSchedule, type FinetuneArgs } from './args.js';
import { inOrder, planSteps, stepRows, type FinetuneBatch, type FinetuneDataset, type StepPlan } from './data.js';
import { NoSupervisedTokensError } from './errors.js';
import { batchInputs, compileEvalGraph, excludedFromWeightDecay, fillBatch, signatureKey, signatureOf, stepLoss, type Signature, type TrainableModel } from './graph.js';

export const FINETUNE_RUN_KIND = 'forja-finetune';

export interface FinetuneTaskParts {
  trainable: TrainableModel;
  data: FinetuneDataset;
  args: FinetuneArgs;
  /** More facts for the checkpoint (the base model, the data's fingerprint, LoRA's config...). */
  meta?: Record<string, unknown>;
}

export class FinetuneTask implements TrainingTask {
  readonly epochs: number;
  readonly plan: StepPlan;
  readonly optimizer: AdamW;
  /** Tokens that are not padding, and supervised tokens, of the steps this process trained. */
  tokensTrained = 0;
  supervisedTokensTrained = 0;
  private readonly accumulator: GradientAccumulator<string>;
  private readonly signatures = new Map<string, Signature>();
  private readonly evaluators = new CompileCache<string, EvalBatchGraph>();

  constructor(readonly parts: FinetuneTaskParts) {
    const { args, trainable } = parts;
    this.plan = planSteps(args, parts.data.train.size);
    this.epochs = Math.ceil(this.plan.totalSteps / this.plan.evalSteps);
    this.optimizer = new AdamW({
      learningRate: lrSchedule(args.lr_scheduler_type, args.learning_rate, this.plan.warmupSteps, this.plan.totalSteps),
      beta1: args.adam_beta1,
      beta2: args.adam_beta2,
      epsilon: args.adam_epsilon,
      weightDecay: args.weight_decay,
      excludeFromWeightDecay: excludedFromWeightDecay,
      ...(args.max_grad_norm > 0 && { clipNorm: args.max_grad_norm }),
    });
    this.accumulator = new GradientAccumulator<string>({
      name: 'finetune',
      microBatches: args.gradient_accumulation_steps,
      inputs: (key) => batchInputs(args.per_device_train_batch_size, this.signatures.get(key)!, true),
      forward: (inputs) => ({ loss: stepLoss(trainable, inputs), outputs: {} }),
      trainable: () => trainable.trainable,
      optimizer: this.optimizer,
    });
    checkUniqueNames(trainable.trainable);
  }

  get args(): FinetuneArgs {
    return this.parts.args;
  }

  stepsInEpoch(epoch: number): number {
    const { evalSteps, totalSteps } = this.plan;
    return Math.min(evalSteps, totalSteps - epoch * evalSteps);
  }

  /** Compile the step graphs of the step at `globalStep`, so training time excludes compiling. */
  async prepare(globalStep: number): Promise<void> {
    if (globalStep >= this.plan.totalSteps) return;
    await this.accumulator.prepare(this.microBatches(globalStep).map((m) => m.key));
  }

  /** One optimizer step over the micro-batches of step `at.globalStep`; logs the loss and the rate it used. */
  async trainStep(at: Position): Promise<StepResult> {
    if (this.optimizer.iterations !== at.globalStep) {
      throw new Error(`internal: the optimizer has taken ${this.optimizer.iterations} steps but the run is at step ${at.globalStep}`);
    }
    const lr = this.optimizer.learningRateAt(at.globalStep);
    const batches = stepRows(this.plan, this.args, this.parts.data.train.size, at.globalStep).map((rows) => this.parts.data.train.batch(rows));
    const supervised = batches.reduce((n, b) => n + b.supervisedTokens, 0);
    if (supervised === 0) throw new NoSupervisedTokensError('train', at.globalStep);
    const scale = 1 / supervised;
    const micro = batches.map((b) => this.microBatch(b, scale));
    const { loss, committed } = await this.accumulator.step(micro);
    if (committed) {
      this.tokensTrained += batches.reduce((n, b) => n + b.tokens, 0);
      this.supervisedTokensTrained += supervised;
    }
    return { logs: { loss, lr }, weight: supervised };
  }

  private microBatches(globalStep: number): MicroBatch<string>[] {
    return stepRows(this.plan, this.args, this.parts.data.train.size, globalStep).map((rows) => this.microBatch(this.parts.data.train.batch(rows), 1));
  }

  private microBatch(batch: FinetuneBatch, scale: number): MicroBatch<string> {
    const signature = signatureOf(batch);
    const key = signatureKey(signature);
    this.signatures.set(key, signature);
    return {
      key,
      fill: (buffers) => {
        fillBatch(buffers, batch, this.args.per_device_train_batch_size);
        (buffers.loss_scale as Float32Array)[0] = scale;
      },
    };
  }

  async validate(): Promise<Logs> {
    const rows = this.parts.data.validation;
    if (!rows || rows.size === 0) return {};
    const loss = await this.evaluate(rows);
    return { val_loss: loss, val_perplexity: Math.exp(loss) };
  }

  /** The mean loss over every supervised token of `rows` with the current weights. */
  async evaluate(rows: NonNullable<FinetuneDataset['validation']>): Promise<number> {
    const B = this.args.per_device_eval_batch_size;
    let sum = 0;
    let count = 0;
    for (const batch of inOrder(rows, B)) {
      if (batch.supervisedTokens === 0) continue;
      const signature = signatureOf(batch);
      const graph = await this.evaluators.get(signatureKey(signature), () => EvalBatchGraph.compile(this.parts.trainable, B, signature));
      sum += await graph.run(batch);
      count += batch.supervisedTokens;
    }
    if (count === 0) throw new NoSupervisedTokensError('validation', undefined);
    return sum / count;
  }

  /** What trains and its AdamW moments by stable names, and the optimizer's step count; the frozen base is not saved. */
  state(): TrainingState {
    const variables = new Map<string, Variable>();
    for (const v of this.parts.trainable.trainable) variables.set(v.name, v);
    for (const slot of this.optimizer.variables) variables.set(slot.name, slot);
    return { variables, optimizers: { adamw: this.optimizer } };
  }

  meta(): Record<string, unknown> {
    return { kind: FINETUNE_RUN_KIND, args: this.args, ...this.parts.meta };
  }

  /** Parameters that train, and all of them (a shared or tied Variable once). */
  get parameterCounts(): { trainable: number; total: number } {
    const { model, trainable } = this.parts.trainable;
    const size = (vs: Iterable<Variable>): number => [...new Set(vs)].reduce((n, v) => n + v.size, 0);
    return { trainable: size(trainable), total: size([...model.weights.values(), ...trainable]) };
  }

  async release(): Promise<void> {
    await this.accumulator.release();
    await this.evaluators.clear();
  }
}

function checkUniqueNames(vars: readonly Variable[]): void {
  const seen = new Map<string, Variable>();
  for (const v of vars) {
    const other = seen.get(v.name);
    if (other && other !== v) throw new Error(`fine-tuning: two trainable variables are named '${v.name}'; checkpoints store them by name`);
    seen.set(v.name, v);
  }
}

/** One evaluation graph with its reusable input buffers. */
class EvalBatchGraph {
  private constructor(
    private readonly graph: CompiledGraph,
    private readonly rows: number,
    private readonly buffers: Record<string, HostData>,
    private readonly feeds: Record<string, OrtTensor>,
  ) {}

  static async compile(m: TrainableModel, rows: number, signature: Signature): Promise<EvalBatchGraph> {
    const graph = await compileEvalGraph(m.model, rows, signature);
    const buffers: Record<string, HostData> = {};
    const feeds: Record<string, OrtTensor> = {};
    for (const spec of batchInputs(rows, signature, false)) {
      const shape = spec.shape as number[];
      buffers[spec.name] = allocate(spec.dtype, rows * signature.length);
      feeds[spec.name] = viewTensor(buffers[spec.name]!, shape);
    }
    return new EvalBatchGraph(graph, rows, buffers, feeds);
  }

  /** The batch's summed loss. */
  async run(batch: FinetuneBatch): Promise<number> {
    fillBatch(this.buffers, batch, this.rows);
    const out = await this.graph.run(this.feeds, ['loss_sum']);
    return Number((out.loss_sum!.data as Float32Array)[0]);
  }

  async release(): Promise<void> {
    await this.graph.release();
  }
}
