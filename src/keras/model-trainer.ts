/**
 * What compile() sets up for a model and fit/evaluate/trainOnBatch use:
 * the optimizer, loss and metrics, the trainable variables captured at
 * compile time (Keras' rule: `trainable = false` set later does not affect
 * this compile), step sessions per batch signature and one evaluation session.
 */
import type { Tensor } from '../core/graph.js';
import { sizeOf, type Dim } from '../core/shape.js';
import { add } from '../core/ops/index.js';
import { Rng } from '../core/rng.js';
import type { Variable } from '../core/variable.js';
import { getLoss, lossName, type LossFn, type LossName } from '../losses/index.js';
import {
  copyData,
  currentCallContext,
  gatherRowsInto,
  HostTensor,
  initializers,
  type HostInput,
  type Model,
} from '../nn/index.js';
import { getOptimizer, type Optimizer, type OptimizerName } from '../optim/index.js';
import { CompileCache } from '../runtime/session.js';
import { CallbackList, type Callback } from './callbacks.js';
import { EvalRunner } from './eval-runner.js';
import { History, type Logs, type Results } from './history.js';
import { resolveMetric, type Metric, type MetricName } from './metrics.js';
import { StepRunner, type StepInputSpec, type StepOutcome } from './step-runner.js';

export interface CompileArgs {
  optimizer: OptimizerName | Optimizer;
  /** A loss name ('binaryCrossentropy') or function (yTrue, yPred) => scalar. */
  loss: LossName | LossFn;
  metrics?: readonly MetricName[];
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
  callbacks?: readonly Callback[];
  /** 1 (default) prints one line per epoch; 0 is silent. */
  verbose?: 0 | 1;
  /** Epoch to start counting from (resuming). */
  initialEpoch?: number;
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
  stopTraining = false;
  private readonly loss: LossFn;
  private readonly metricNames: readonly MetricName[];
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
    const ys = y instanceof HostTensor || y instanceof Float32Array ? [y] : [...y];
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

  private stepRunner(data: Batches, batchSize: number): Promise<StepRunner> {
    const specs = this.specs(data, batchSize);
    return this.steps.get(JSON.stringify(specs), () =>
      StepRunner.compile({
        name: `${this.model.name}_train_${batchSize}`,
        inputs: specs,
        forward: (tensors) => {
          const { loss, metrics } = this.lossAndMetrics(tensors);
          return { loss, outputs: metrics };
        },
        trainable: () => this.trainableVariables(),
        optimizer: this.optimizer,
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

  /** Copy rows `order[from..from+count)` into the runner's buffers and take one step. */
  private async step(runner: StepRunner, data: Batches, order: Int32Array, from: number, count: number): Promise<Results | null> {
    data.inputs.forEach((t, i) => gatherRowsInto(runner.buffers[`x${i}`]!, t, order, from, count));
    data.targets.forEach((t, i) => {
      if (!runner.aliases.has(`y${i}`)) gatherRowsInto(runner.buffers[`y${i}`]!, t, order, from, count);
    });
    const outcome = await runner.run();
    return outcome.committed ? results(outcome) : null;
  }

  async trainOnBatch(x: Data, y: Data): Promise<Results> {
    const data = this.batches(x, y, 'trainOnBatch');
    const rows = data.inputs[0]!.rows;
    const runner = await this.stepRunner(data, rows);
    data.inputs.forEach((t, i) => copyData(runner.buffers[`x${i}`]!, t.data));
    data.targets.forEach((t, i) => copyData(runner.buffers[`y${i}`]!, t.data));
    const outcome = await runner.run();
    if (!outcome.committed) throw new Error(`${this.model.where}.trainOnBatch: loss is ${outcome.loss}; the weights were not updated`);
    return results(outcome);
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
    const [full, last] = await Promise.all([this.stepRunner(train, batchSize), this.stepRunner(train, lastSize)]);
    const rng = new Rng(args.seed ?? initializers.nextSeed());
    const order = Int32Array.from({ length: samples }, (_, i) => i);
    const callbacks = new CallbackList(args.callbacks ?? []);
    const batchHooks = callbacks.has('onBatchBegin') || callbacks.has('onBatchEnd');
    const history = new History({ epochs, steps, batchSize, samples });
    this.stopTraining = false;
    await callbacks.train('onTrainBegin', {});
    let logs: Logs = {};
    for (let epoch = initialEpoch; epoch < epochs && !this.stopTraining; epoch++) {
      const started = performance.now();
      await callbacks.at('onEpochBegin', epoch, {});
      if (args.shuffle ?? true) rng.shuffle(order);
      const sums: Logs = {};
      for (let s = 0; s < steps && !this.stopTraining; s++) {
        if (batchHooks) await callbacks.at('onBatchBegin', s, {});
        const count = s === steps - 1 ? lastSize : batchSize;
        const stepLogs = await this.step(s === steps - 1 ? last : full, train, order, s * batchSize, count);
        if (!stepLogs) {
          throw new Error(`${where}: the loss is not finite at epoch ${epoch + 1}, step ${s + 1}/${steps}; the weights are left as they were after the previous step`);
        }
        for (const [k, v] of Object.entries(stepLogs)) sums[k] = (sums[k] ?? 0) + v * count;
        if (batchHooks) await callbacks.at('onBatchEnd', s, stepLogs);
      }
      logs = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / samples]));
      if (validation) {
        const val = await this.evaluateBatches(validation, batchSize);
        for (const [k, v] of Object.entries(val)) logs[`val_${k}`] = v;
      }
      history.record(epoch, logs);
      if ((args.verbose ?? 1) === 1) process.stdout.write(epochLine(epoch, epochs, performance.now() - started, logs));
      await callbacks.at('onEpochEnd', epoch, logs);
    }
    await callbacks.train('onTrainEnd', logs);
    return history;
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

/** The loss and each metric of a committed step (metrics are scalars). */
function results(outcome: StepOutcome): Results {
  const logs: Results = { loss: outcome.loss };
  for (const [name, value] of Object.entries(outcome.outputs)) logs[name] = Number(value[0]);
  return logs;
}

function checkInt(value: number, name: string, where: string, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new Error(`${where}: ${name} must be an integer ≥ ${min}. Received: ${name}=${value}`);
  return value;
}

function epochLine(epoch: number, epochs: number, ms: number, logs: Logs): string {
  const values = Object.entries(logs).map(([k, v]) => `${k}: ${v.toFixed(4)}`);
  return [`Epoch ${epoch + 1}/${epochs}`, `${(ms / 1000).toFixed(2)}s`, ...values].join(' - ') + '\n';
}
