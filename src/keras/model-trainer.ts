/**
 * What compile() sets up for a model and fit/evaluate/trainOnBatch use:
 * the optimizer, loss and metrics, the trainable variables captured at
 * compile time (Keras' rule: `trainable = false` set later does not affect
 * this compile), step sessions per batch signature and one evaluation session.
 */
import type { Tensor } from '../core/graph.js';
import { sizeOf, type Dim } from '../core/shape.js';
import { add } from '../core/ops/index.js';
import type { Variable } from '../core/variable.js';
import { getLoss, lossName, type LossFn, type LossName } from '../losses/index.js';
import {
  copyData,
  currentCallContext,
  gatherRowsInto,
  hostInputList,
  HostTensor,
  initializers,
  type HostInput,
  weightPaths,
} from '../nn/index.js';
import type { Model } from './model.js';
import { getOptimizer, type Optimizer, type OptimizerName } from '../optim/index.js';
import { CompileCache } from '../runtime/session.js';
import { Rng } from '../core/rng.js';
import type { Callback } from '../train/callbacks.js';
import { EvalRunner } from '../train/eval-runner.js';
import type { History, Logs, Results } from '../train/history.js';
import { resolveMetric, type Metric, type MetricName } from '../train/metrics.js';
import { StepRunner, type StepInputSpec, type StepOutcome } from '../train/step-runner.js';
import { Trainer, type Position, type StepResult, type TrainingTask } from '../train/trainer.js';

export interface CompileArgs {
  optimizer: OptimizerName | Optimizer;
  /** A loss name ('binaryCrossentropy') or function (yTrue, yPred) => scalar. */
  loss: LossName | LossFn;
  metrics?: readonly MetricName[];
  /**
   * Batches fit() trains in one session.run (Keras' steps_per_execution; default 1). A small model's
   * step is mostly the copy of its weights out of ONNX Runtime, which a run of several steps makes
   * once. Batch callbacks then run once per run, and a stop takes effect between runs.
   */
  stepsPerExecution?: number;
}

/** One input or target array, or one per model input/output. */
export type Data = HostInput | readonly HostInput[];

export interface FitArgs {
  /** Default 1. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Hold out this last fraction of the data (before shuffling) for validation. */
  validationSplit?: number;
  validationData?: readonly [Data, Data];
  /** Shuffle the training rows every epoch (default true). */
  shuffle?: boolean;
  /** Seed of the shuffles; default drawn from the global generator (see setRandomSeed). */
  seed?: number;
  /** The library never prints: pass a progress callback (the CLI's, or your own) to watch training. */
  callbacks?: readonly Callback[];
  /** Epoch to start counting from (resuming by hand; backupAndRestore resumes on its own). */
  initialEpoch?: number;
  /** Stops after the current step (the History then ends at the last finished epoch). */
  signal?: AbortSignal;
}

export interface EvaluateArgs {
  /** Default 32. */
  batchSize?: number;
}

interface Batches {
  inputs: HostTensor[];
  targets: HostTensor[];
}

export class ModelTrainer {
  readonly optimizer: Optimizer;
  /** The Trainer of the fit in progress, so `model.stopTraining = true` reaches it. */
  active: Trainer | undefined;
  private readonly loss: LossFn;
  private readonly metricNames: readonly MetricName[];
  private readonly stepsPerExecution: number;
  private trainable: Variable[] | null;
  /** Keyed by the input signature (names, shapes with the batch size, dtypes). */
  private readonly steps = new CompileCache<string, StepRunner>();
  private readonly evaluators = new CompileCache<string, EvalRunner>();

  constructor(
    private readonly model: Model,
    args: CompileArgs,
  ) {
    this.optimizer = getOptimizer(args.optimizer);
    this.loss = getLoss(args.loss);
    this.metricNames = args.metrics ?? [];
    this.stepsPerExecution = checkInt(args.stepsPerExecution ?? 1, 'stepsPerExecution', `${model.where}.compile`, 1);
    this.metricNames.forEach((name) => resolveMetric(name, null, undefined));
    // An unbuilt model's weights do not exist yet: captured at the first step.
    this.trainable = model.built ? model.trainableWeights : null;
  }

  private trainableVariables(): Variable[] {
    return (this.trainable ??= this.model.trainableWeights);
  }

  // --- the data --------------------------------------------------------------------

  /** Inputs and targets as HostTensors with matching row counts. */
  batches(x: Data, y: Data, method: string): Batches {
    const inputs = this.model.hostInputs(x, method);
    const rows = inputs[0]!.rows;
    const ys = hostInputList(y, `${this.model.where}.${method}: targets`);
    if (ys.length !== this.model.outputs.length) {
      throw new Error(`${this.model.where}.${method}: expected ${this.model.outputs.length} target arrays, received ${ys.length}`);
    }
    const targets = ys.map((t, i) => this.target(t, i, rows, method));
    return { inputs, targets };
  }

  /** Flat targets take the output's per-example shape, or one value per row (class labels). */
  private target(y: HostInput, index: number, rows: number, method: string): HostTensor {
    const where = `${this.model.where}.${method}: target ${index}`;
    if (y instanceof HostTensor) {
      if (y.rows !== rows) throw new Error(`${where} has ${y.rows} rows but the inputs have ${rows}`);
      return y;
    }
    if (rows === 0 || y.length % rows !== 0) throw new Error(`${where}: ${y.length} values do not divide into ${rows} rows`);
    const perRow = y.length / rows;
    const exampleShape = this.model.outputs[index]!.exampleShape;
    const outputSize = sizeOf(exampleShape);
    if (perRow === outputSize) return new HostTensor(y, [rows, ...(exampleShape as number[])]);
    return new HostTensor(y, perRow === 1 ? [rows] : [rows, perRow]);
  }

  private split(data: Batches, from: number, to: number): Batches {
    return { inputs: data.inputs.map((t) => t.sliceRows(from, to)), targets: data.targets.map((t) => t.sliceRows(from, to)) };
  }

  // --- graphs ------------------------------------------------------------------------

  /** Loss summed over outputs, and each metric's batch mean. */
  private lossAndMetrics(tensors: Record<string, Tensor>): { loss: Tensor; metrics: Record<string, Tensor> } {
    const xs = this.model.inputs.map((_, i) => tensors[`x${i}`]!);
    const predictions = this.model.invoke(xs, currentCallContext());
    const targets = predictions.map((_, i) => tensors[`y${i}`]!);
    const name = lossName(this.loss);
    const metrics: Record<string, Tensor> = {};
    let loss: Tensor | null = null;
    predictions.forEach((p, i) => {
      const term = this.loss(targets[i]!, p);
      loss = loss ? add(loss, term) : term;
      for (const m of this.metricNames) {
        const metric: Metric = resolveMetric(m, name, p.shape[p.rank - 1]);
        metrics[predictions.length === 1 ? m : `output_${i}_${m}`] = metric.compute(targets[i]!, p);
      }
    });
    return { loss: loss!, metrics };
  }

  /** Graph inputs x0.., y0.. for `data` with batch axis `batch`; targets equal to an input share its buffer. */
  private specs(data: Batches, batch: Dim): StepInputSpec[] {
    const spec = (t: HostTensor, name: string): StepInputSpec => ({ name, shape: [batch, ...t.shape.slice(1)], dtype: t.dtype });
    const inputs = data.inputs.map((t, i) => spec(t, `x${i}`));
    const targets = data.targets.map((t, i) => {
      const same = data.inputs.findIndex((x) => x.data === t.data && x.shape.join() === t.shape.join());
      return same >= 0 ? { ...spec(t, `y${i}`), alias: `x${same}` } : spec(t, `y${i}`);
    });
    return [...inputs, ...targets];
  }

  private stepRunner(data: Batches, batchSize: number, stepsPerRun = 1): Promise<StepRunner> {
    const specs = this.specs(data, batchSize);
    return this.steps.get(JSON.stringify({ specs, stepsPerRun }), () =>
      StepRunner.compile({
        name: `${this.model.name}_train_${batchSize}${stepsPerRun > 1 ? `_x${stepsPerRun}` : ''}`,
        inputs: specs,
        forward: (tensors) => {
          const { loss, metrics } = this.lossAndMetrics(tensors);
          return { loss, outputs: metrics };
        },
        trainable: () => this.trainableVariables(),
        optimizer: this.optimizer,
        stepsPerRun,
      }),
    );
  }

  private evaluator(data: Batches): Promise<EvalRunner> {
    const specs = this.specs(data, 'batch').map(({ name, shape, dtype }) => ({ name, shape, dtype }));
    return this.evaluators.get(JSON.stringify(specs), () =>
      EvalRunner.compile(`${this.model.name}_evaluate`, specs, (tensors) => {
        const { loss, metrics } = this.lossAndMetrics(tensors);
        return { loss, ...metrics };
      }),
    );
  }

  // --- steps ---------------------------------------------------------------------------

  /** Copy rows `order[from..from+rows×steps)` into the runner's buffers and take `steps` steps of `rows` rows. */
  private async trainRows(runner: StepRunner, data: Batches, order: Int32Array, from: number, rows: number, steps = 1): Promise<Results[]> {
    data.inputs.forEach((t, i) => gatherRowsInto(runner.buffers[`x${i}`]!, t, order, from, rows * steps));
    data.targets.forEach((t, i) => {
      if (!runner.aliases.has(`y${i}`)) gatherRowsInto(runner.buffers[`y${i}`]!, t, order, from, rows * steps);
    });
    // A non-finite loss commits nothing; the Trainer's guard stops the run on it.
    return stepResults(await runner.run(steps));
  }

  async trainOnBatch(x: Data, y: Data): Promise<Results> {
    const data = this.batches(x, y, 'trainOnBatch');
    const rows = data.inputs[0]!.rows;
    const runner = await this.stepRunner(data, rows);
    data.inputs.forEach((t, i) => copyData(runner.buffers[`x${i}`]!, t.data));
    data.targets.forEach((t, i) => copyData(runner.buffers[`y${i}`]!, t.data));
    const outcome = await runner.run();
    if (!outcome.committed) throw new Error(`${this.model.where}.trainOnBatch: loss is ${outcome.loss}; the weights were not updated`);
    return stepResults(outcome)[0]!;
  }

  async evaluate(x: Data, y: Data, args: EvaluateArgs = {}, method = 'evaluate'): Promise<Results> {
    const data = this.batches(x, y, method);
    return this.evaluateBatches(data, args.batchSize ?? 32);
  }

  private async evaluateBatches(data: Batches, batchSize: number): Promise<Results> {
    const runner = await this.evaluator(data);
    const means = await runner.run([...data.inputs, ...data.targets], batchSize);
    return { ...means, loss: means.loss! };
  }

  // --- fit --------------------------------------------------------------------------------

  async fit(x: Data, y: Data, args: FitArgs = {}): Promise<History> {
    const where = `${this.model.where}.fit`;
    const epochs = checkInt(args.epochs ?? 1, 'epochs', where, 0);
    const initialEpoch = checkInt(args.initialEpoch ?? 0, 'initialEpoch', where, 0);
    const { train, validation } = this.fitData(x, y, args, where);
    const samples = train.inputs[0]!.rows;
    if (samples === 0) throw new Error(`${where}: no training rows (after a validationSplit of ${args.validationSplit ?? 0})`);
    const batchSize = Math.min(checkInt(args.batchSize ?? 32, 'batchSize', where, 1), samples);
    const steps = Math.ceil(samples / batchSize);
    const lastSize = samples - (steps - 1) * batchSize;
    // Steps of full batches may run several at a time; a smaller last batch runs on its own.
    const fullSteps = lastSize === batchSize ? steps : steps - 1;
    const perRun = Math.min(this.stepsPerExecution, fullSteps); // fullSteps ≥ 1: a lone batch is a full one
    const [full, last] = await Promise.all([this.stepRunner(train, batchSize, perRun), fullSteps < steps ? this.stepRunner(train, lastSize) : undefined]);
    let seed = args.seed ?? initializers.nextSeed();
    const shuffle = args.shuffle ?? true;
    // Keras' (and Forja 0.1's) order: one stream shuffling the previous epoch's order again. A run resumed
    // at epoch e replays the e shuffles from the seed, so it sees the same order as an uninterrupted one.
    const order = Int32Array.from({ length: samples }, (_, i) => i);
    let rng = new Rng(seed);
    let shuffledThrough = -1;
    const shuffleThrough = (epoch: number): void => {
      if (!shuffle) return;
      if (shuffledThrough >= epoch) {
        rng = new Rng(seed);
        order.forEach((_, i) => (order[i] = i));
        shuffledThrough = -1;
      }
      for (; shuffledThrough < epoch; shuffledThrough++) rng.shuffle(order);
    };
    /** Up to `limit` steps from `step`: full batches `perRun` at a time, the smaller last batch alone. */
    const trainFrom = async (step: number, limit: number): Promise<StepResult[]> => {
      const rows = step < fullSteps ? batchSize : lastSize;
      const count = step < fullSteps ? Math.min(perRun, limit, fullSteps - step) : 1;
      const logs = await this.trainRows(step < fullSteps ? full : last!, train, order, step * batchSize, rows, count);
      return logs.map((l) => ({ logs: l, weight: rows }));
    };
    const task: TrainingTask = {
      epochs,
      stepsInEpoch: () => steps,
      startEpoch: ({ epoch }) => shuffleThrough(epoch),
      trainStep: ({ step }: Position) => trainFrom(step, 1).then(([one]) => one!),
      ...(perRun > 1 && { trainSteps: ({ step }: Position, limit: number) => trainFrom(step, limit) }),
      ...(validation ? { validate: async () => prefixed(await this.evaluateBatches(validation, batchSize), 'val_') } : {}),
      state: () => this.trainingState(),
      meta: () => ({ kind: 'fit', model: this.model.name, samples, batchSize, seed, shuffle }),
      restoreMeta: (meta) => {
        if (meta.kind !== 'fit' || meta.samples !== samples || meta.batchSize !== batchSize) {
          throw new Error(`${where}: the backup is of another fit (${JSON.stringify(meta)}), not of ${samples} rows in batches of ${batchSize}`);
        }
        seed = meta.seed as number;
        shuffledThrough = Number.MAX_SAFE_INTEGER; // replay from the restored seed
      },
    };
    const trainer = new Trainer(task, { callbacks: args.callbacks ?? [], ...(args.signal ? { signal: args.signal } : {}) });
    trainer.position = { epoch: initialEpoch, step: 0, globalStep: initialEpoch * steps };
    trainer.history.params = { epochs, steps, batchSize, samples };
    this.active = trainer;
    try {
      return (await trainer.run()).history;
    } finally {
      this.active = undefined;
    }
  }

  /**
   * What a checkpoint of this model's training holds: its weights and the
   * optimizer's slots. Named by position ('model/3/kernel'), not by layer
   * name, since auto-generated layer names depend on what else the process built.
   */
  trainingState(): { variables: Map<string, Variable>; optimizers: Record<string, Optimizer> } {
    const variables = new Map<string, Variable>();
    const trainable = new Set(this.trainableVariables());
    [...weightPaths(this.model)].forEach(([path, variable], i) => {
      const name = `${i}/${path.slice(path.lastIndexOf('/') + 1)}`;
      variables.set(`model/${name}`, variable);
      if (!trainable.has(variable)) return;
      for (const slot of this.optimizer.slotsFor(variable)) variables.set(`optimizer/${name}/${slot.name.slice(slot.name.lastIndexOf('/') + 1)}`, slot);
    });
    return { variables, optimizers: { optimizer: this.optimizer } };
  }

  private fitData(x: Data, y: Data, args: FitArgs, where: string): { train: Batches; validation: Batches | null } {
    const data = this.batches(x, y, 'fit');
    if (args.validationData) {
      if (args.validationSplit !== undefined) throw new Error(`${where}: give validationData or validationSplit, not both`);
      return { train: data, validation: this.batches(args.validationData[0], args.validationData[1], 'fit (validationData)') };
    }
    const fraction = args.validationSplit ?? 0;
    if (!(fraction >= 0 && fraction < 1)) throw new Error(`${where}: validationSplit must be in [0, 1). Received: validationSplit=${fraction}`);
    if (fraction === 0) return { train: data, validation: null };
    const rows = data.inputs[0]!.rows;
    const splitAt = Math.floor(rows * (1 - fraction));
    return { train: this.split(data, 0, splitAt), validation: this.split(data, splitAt, rows) };
  }

  /** Release every compiled session. */
  async release(): Promise<void> {
    await Promise.all([this.steps.clear(), this.evaluators.clear()]);
  }
}

/** The loss and each metric of every step a run took (metrics are scalars). */
function stepResults(outcome: StepOutcome): Results[] {
  return [...outcome.losses].map((loss, step) => {
    const logs: Results = { loss };
    for (const [name, values] of Object.entries(outcome.outputs)) logs[name] = Number(values[step]);
    return logs;
  });
}

function prefixed(logs: Logs, prefix: string): Logs {
  return Object.fromEntries(Object.entries(logs).map(([k, v]) => [`${prefix}${k}`, v]));
}

function checkInt(value: number, name: string, where: string, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new Error(`${where}: ${name} must be an integer ≥ ${min}. Received: ${name}=${value}`);
  return value;
}
