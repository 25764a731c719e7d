/**
 * The one training loop. fit(), `forja train <mnist model>`, GPT training and
 * fine-tuning are each a TrainingTask (how to take one step, how to validate,
 * what state to checkpoint) run by this Trainer, which owns everything they
 * share: the epoch/step position, per-epoch means, the NaN guard, history,
 * callbacks, stopping, and the checkpoint that lets a run resume bit for bit.
 *
 * An "epoch" is whatever the task says it is: a pass over the data (fit,
 * MNIST) or an evaluation interval of a step-based run (GPT).
 */
import type { Optimizer } from '../optim/index.js';
import type { Rng } from '../core/rng.js';
import type { Variable } from '../core/variable.js';
import { CallbackList, type Callback } from './callbacks.js';
import { readCheckpoint, writeCheckpoint, type CheckpointContents, type LegacyReader } from './checkpoint.js';
import { TrainingDivergedError } from './errors.js';
import { History, type Logs } from './history.js';

/** Where a run is: `step` steps of epoch `epoch` are done (step 0: the epoch has not started). */
export interface Position {
  epoch: number;
  step: number;
  /** Steps completed over the whole run. */
  globalStep: number;
}

/** Everything training changes, by names that are stable across processes. */
export interface TrainingState {
  /** Weights, optimizer slots, running statistics. */
  variables: ReadonlyMap<string, Variable>;
  /** Step counts (Adam's bias correction and schedules depend on them). */
  optimizers: Readonly<Record<string, Optimizer>>;
  /** Random streams whose position must survive a resume (noise, shuffles). */
  rngs?: Readonly<Record<string, Rng>>;
}

/** One step's logs, and how much the step counts in the epoch mean (its rows or tokens). */
export interface StepResult {
  logs: Logs;
  weight: number;
}

export interface TrainingTask {
  /** Epochs in the run. */
  readonly epochs: number;
  stepsInEpoch(epoch: number): number;
  /** Before the first step of an epoch, and when a run resumes inside one (`position.step` > 0). */
  startEpoch?(position: Position): void | Promise<void>;
  /** One optimisation step at `position` (the step about to be taken). */
  trainStep(position: Position): Promise<StepResult>;
  /**
   * Optional: 1 to `limit` steps from `position` in one go (fit's stepsPerExecution), each step's
   * result in order. The batch callbacks then run once around the whole run, as in Keras.
   */
  trainSteps?(position: Position, limit: number): Promise<StepResult[]>;
  /** Held-out metrics after each epoch, named as they should appear in the logs (val_loss...). */
  validate?(epoch: number): Promise<Logs>;
  /** What a checkpoint holds; read when saving and restoring. */
  state(): TrainingState;
  /** Task settings stored in the checkpoint, so a resume can check it continues the same run. */
  meta?(): Record<string, unknown>;
  /** On restore, the meta the checkpoint holds (e.g. a shuffle seed that was drawn at random). */
  restoreMeta?(meta: Record<string, unknown>): void;
}

export interface TrainerOptions {
  callbacks?: readonly Callback[];
  /** Stops after the current step, as a callback setting `stopTraining` would, and marks the run interrupted. */
  signal?: AbortSignal;
}

export interface TrainOutcome {
  history: History;
  /** The last epoch's logs (empty if no epoch finished in this process). */
  logs: Logs;
  position: Position;
  /** True when the signal stopped the run before its last step. */
  interrupted: boolean;
  /** Steps taken in this process, and the seconds they took (validation and callbacks excluded). */
  stepsHere: number;
  stepSeconds: number;
  /** Sum of the step weights (rows or tokens) trained in this process. */
  weightHere: number;
}

export class Trainer {
  readonly history = new History();
  position: Position = { epoch: 0, step: 0, globalStep: 0 };
  /** Set by a callback (early stopping) to end the run after the current step. */
  stopTraining = false;
  interrupted = false;
  /** Running sums of the current epoch's step logs, weighted, and the weight so far. */
  private sums: Logs = {};
  private weight = 0;
  private readonly callbacks: CallbackList;

  constructor(
    readonly task: TrainingTask,
    private readonly options: TrainerOptions = {},
  ) {
    this.callbacks = new CallbackList(options.callbacks ?? [], this);
  }

  get finished(): boolean {
    return this.position.epoch >= this.task.epochs;
  }

  /** The current epoch's mean step logs so far. */
  get epochMeans(): Logs {
    return Object.fromEntries(Object.entries(this.sums).map(([k, v]) => [k, v / Math.max(this.weight, Number.MIN_VALUE)]));
  }

  async run(): Promise<TrainOutcome> {
    const { task } = this;
    const signal = this.options.signal;
    const stopped = (): boolean => this.stopTraining || signal?.aborted === true;
    let logs: Logs = {};
    let stepsHere = 0;
    let stepSeconds = 0;
    let weightHere = 0;
    this.stopTraining = false;
    await this.callbacks.trainBegin();
    while (!this.finished && !stopped()) {
      const { epoch } = this.position;
      const steps = task.stepsInEpoch(epoch);
      if (this.position.step === 0) await this.callbacks.epochBegin(epoch);
      await task.startEpoch?.({ ...this.position });
      while (this.position.step < steps && !stopped()) {
        const first = { ...this.position };
        await this.callbacks.batchBegin(first);
        const started = performance.now();
        const results = task.trainSteps ? await task.trainSteps(first, steps - first.step) : [await task.trainStep(first)];
        if (results.length < 1 || results.length > steps - first.step) {
          throw new Error(`Trainer: trainSteps at step ${first.step} of ${steps} returned ${results.length} steps`);
        }
        stepSeconds += (performance.now() - started) / 1000;
        let at = first;
        for (const [i, { logs: stepLogs, weight }] of results.entries()) {
          at = { epoch, step: first.step + i, globalStep: first.globalStep + i };
          const bad = nonFinite(stepLogs);
          if (bad) throw new TrainingDivergedError(at, bad, 'step');
          for (const [k, v] of Object.entries(stepLogs)) this.sums[k] = (this.sums[k] ?? 0) + v * weight;
          this.weight += weight;
          weightHere += weight;
        }
        stepsHere += results.length;
        this.position = { epoch, step: at.step + 1, globalStep: at.globalStep + 1 };
        await this.callbacks.batchEnd(at, results.at(-1)!.logs);
      }
      if (this.position.step < steps) break; // stopped inside the epoch: it resumes there
      logs = this.epochMeans;
      if (task.validate) {
        const val = await task.validate(epoch);
        const bad = nonFinite(val);
        if (bad) throw new TrainingDivergedError(this.position, bad, 'validation');
        Object.assign(logs, val);
      }
      this.history.record(epoch, logs);
      this.position = { epoch: epoch + 1, step: 0, globalStep: this.position.globalStep };
      this.sums = {};
      this.weight = 0;
      await this.callbacks.epochEnd(epoch, logs);
    }
    this.interrupted = signal?.aborted === true && !this.finished;
    await this.callbacks.trainEnd(logs);
    return { history: this.history, logs, position: { ...this.position }, interrupted: this.interrupted, stepsHere, stepSeconds, weightHere };
  }

  /** Everything needed to continue exactly here. */
  contents(): CheckpointContents {
    return {
      state: this.task.state(),
      position: { ...this.position },
      history: this.history.rows(),
      epochSums: { sums: { ...this.sums }, weight: this.weight },
      meta: this.task.meta?.() ?? {},
    };
  }

  /** Write the checkpoint file atomically. */
  async save(path: string): Promise<void> {
    await writeCheckpoint(path, this.contents());
  }

  /** Continue from a checkpoint: state, position, history and the epoch's running means. Returns its task meta. */
  async restore(path: string, legacy?: LegacyReader): Promise<Record<string, unknown>> {
    const saved = await readCheckpoint(path, this.task.state(), legacy);
    this.position = saved.position;
    this.history.restore(saved.history);
    this.sums = saved.epochSums.sums;
    this.weight = saved.epochSums.weight;
    this.task.restoreMeta?.(saved.meta);
    return saved.meta;
  }
}

/** "loss is NaN, lr is Infinity", or '' when every value is finite. */
function nonFinite(logs: Logs): string {
  return Object.entries(logs)
    .filter(([, v]) => !Number.isFinite(v))
    .map(([k, v]) => `${k} is ${v}`)
    .join(', ');
}
