/**
 * The custom-loop API, for GANs and anything fit() does not cover: a loss
 * written as a function of named input tensors, compiled with its gradient
 * and optimizer update into one graph per batch size, run with one
 * session.run per step.
 *
 *   const dStep = new TrainStep({
 *     inputs: { real: [784], z: [100] },
 *     trainable: discriminator,
 *     optimizer: optimizers.adam({ learningRate: 2e-4, beta1: 0.5 }),
 *     loss: ({ real, z }) => ...,   // layers called with layer.apply(tensor)
 *   });
 *   const { loss } = await dStep.run({ real: batch, z: noise });
 *
 * Weights of layers used in the loss but not in `trainable` are read, not updated.
 */
import type { DType } from '../core/dtype.js';
import { formatShape, type Dim } from '../core/shape.js';
import { Tensor } from '../core/graph.js';
import { Variable } from '../core/variable.js';
import { copyData, HostTensor, Layer, toHostTensor, type HostInput } from '../nn/index.js';
import { CompileCache } from '../runtime/session.js';
import { getOptimizer, type Optimizer, type OptimizerName } from '../optim/index.js';
import { StepRunner, type StepInputSpec } from './step-runner.js';

/** A per-example shape (no batch axis), or a shape with a dtype (int64 token ids...). */
export type StepInput = readonly number[] | { shape: readonly number[]; dtype: DType };

/** The loss alone, or the loss with extra tensors to fetch ({ loss, dReal, ... }). */
export type StepLoss = Tensor | ({ loss: Tensor } & Record<string, Tensor>);

export interface TrainStepArgs {
  inputs: Record<string, StepInput>;
  /** What to train: a layer or model (its trainable weights), or variables. */
  trainable: Layer | readonly Layer[] | readonly Variable[];
  optimizer: OptimizerName | Optimizer;
  loss: (inputs: Record<string, Tensor>) => StepLoss;
  name?: string;
}

/** The loss, and each extra output: a number if it is a scalar, else a HostTensor (a copy). */
export type StepResult = { loss: number } & Record<string, number | HostTensor>;

export class TrainStep {
  readonly name: string;
  readonly optimizer: Optimizer;
  private readonly runners = new CompileCache<number, StepRunner>();
  private readonly inputs: { name: string; example: readonly number[]; dtype: DType }[];
  private readonly outputShapes = new Map<string, readonly Dim[]>();

  constructor(private readonly args: TrainStepArgs) {
    this.name = args.name ?? 'train_step';
    this.optimizer = getOptimizer(args.optimizer);
    this.inputs = Object.entries(args.inputs).map(([name, spec]) => {
      const { shape, dtype } = isShape(spec) ? { shape: spec, dtype: 'float32' as DType } : spec;
      if (!shape.every((d) => Number.isInteger(d) && d > 0)) {
        throw new Error(`TrainStep '${this.name}': input '${name}' needs a static per-example shape, received ${formatShape(shape)}`);
      }
      return { name, example: [...shape], dtype };
    });
    if (this.inputs.length === 0) throw new Error(`TrainStep '${this.name}': no inputs given`);
  }

  /** The variables to update, resolved once the loss has been traced (layers build lazily). */
  private trainableVariables(): Variable[] {
    const t = this.args.trainable;
    if (t instanceof Layer) return t.trainableWeights;
    if (t.every((x): x is Variable => x instanceof Variable)) return [...t];
    return [...new Set((t as readonly Layer[]).flatMap((l) => l.trainableWeights))];
  }

  /** One step on a batch: every input by name, the same number of rows each. */
  async run(batch: Record<string, HostInput>): Promise<StepResult> {
    const data = this.inputs.map(({ name, example }) => {
      const x = batch[name];
      if (x === undefined) throw new Error(`TrainStep '${this.name}': missing input '${name}' (expected ${this.inputs.map((i) => i.name).join(', ')})`);
      return toHostTensor(x, example, `TrainStep '${this.name}': input '${name}'`);
    });
    const rows = data[0]!.rows;
    data.forEach((x, i) => {
      if (x.rows !== rows) throw new Error(`TrainStep '${this.name}': input '${this.inputs[i]!.name}' has ${x.rows} rows but '${this.inputs[0]!.name}' has ${rows}`);
      if (x.dtype !== this.inputs[i]!.dtype) throw new Error(`TrainStep '${this.name}': input '${this.inputs[i]!.name}' must be ${this.inputs[i]!.dtype}, received ${x}`);
    });
    const runner = await this.runner(rows);
    data.forEach((x, i) => copyData(runner.buffers[this.inputs[i]!.name]!, x.data));
    const outcome = await runner.run();
    if (!outcome.committed) {
      throw new Error(`TrainStep '${this.name}': the loss is ${outcome.loss} at step ${this.optimizer.iterations + 1}; the weights were not updated`);
    }
    const result: StepResult = { loss: outcome.loss };
    for (const [name, values] of Object.entries(outcome.outputs)) {
      const shape = this.outputShapes.get(name)! as number[];
      result[name] = shape.length === 0 || values.length === 1 ? Number(values[0]) : new HostTensor(values.slice(), shape);
    }
    return result;
  }

  private runner(rows: number): Promise<StepRunner> {
    return this.runners.get(rows, () => {
      const specs: StepInputSpec[] = this.inputs.map(({ name, example, dtype }) => ({ name, shape: [rows, ...example], dtype }));
      return StepRunner.compile({
        name: `${this.name}_${rows}`,
        inputs: specs,
        forward: (tensors) => {
          const out = this.args.loss(tensors);
          if (out instanceof Tensor) return { loss: out, outputs: {} };
          const { loss, ...outputs } = out;
          for (const [name, t] of Object.entries(outputs)) this.outputShapes.set(name, t.shape);
          return { loss, outputs };
        },
        trainable: () => this.trainableVariables(),
        optimizer: this.optimizer,
      });
    });
  }

  /** Release the compiled sessions. */
  async release(): Promise<void> {
    await this.runners.clear();
  }
}

function isShape(spec: StepInput): spec is readonly number[] {
  return Array.isArray(spec);
}
