/**
 * One training step = one ONNX graph = one session.run: forward, loss,
 * gradients, optimizer update and state (BatchNorm) updates. Parameters,
 * optimizer slots and state are fed as inputs and come back as outputs.
 *
 * Per run nothing is allocated: data goes into reusable input buffers, and
 * each updated variable owns a spare array the session writes its new value
 * into (a preallocated fetch). After a run with a finite loss the spare and
 * the live array swap; after a non-finite loss nothing is assigned, so the
 * weights stay at the last good step. Consequence: an array read from
 * `variable.value` is overwritten two steps later; copy it (getWeights) to keep it.
 */
import { grad } from '../autodiff/grad.js';
import type { DType } from '../core/dtype.js';
import { trace, type Tensor } from '../core/graph.js';
import { elementCount, formatShape, isStatic, type Dim } from '../core/shape.js';
import type { Variable } from '../core/variable.js';
import { reshape } from '../core/ops/index.js';
import { allocate, CallContext, withCallContext, type HostData } from '../nn/index.js';
import { CompiledGraph, viewTensor } from '../runtime/session.js';
import type { Optimizer, ParamGradient, StepScalars } from '../optim/index.js';
import type { OrtTensor } from '../runtime/session.js';

export interface StepInputSpec {
  name: string;
  /** Batch axis first; static for training steps. */
  shape: readonly Dim[];
  dtype: DType;
  /** Share the buffer of this earlier input (fit(x, x): targets are the inputs). */
  alias?: string;
}

/** The loss to minimise and any extra tensors to fetch, traced from the step's inputs. */
export interface StepForward {
  loss: Tensor;
  outputs: Record<string, Tensor>;
}

export interface StepGraphSpec {
  name: string;
  inputs: readonly StepInputSpec[];
  /** Traced in a training CallContext. */
  forward: (inputs: Record<string, Tensor>) => StepForward;
  /** The variables to train, resolved after `forward` is traced (layers build lazily). */
  trainable: () => readonly Variable[];
  optimizer: Optimizer;
  /** New values from the gradients; default: the optimizer's update (gradient accumulation adds sums instead, see accumulation.ts). */
  applyGradients?: (pairs: readonly ParamGradient[], scalars: StepScalars) => Map<Variable, Tensor>;
  /** Whether a committed run is an optimizer step (default true); false for a micro-batch that only accumulates. */
  countsAsStep?: boolean;
}

export interface StepOutcome {
  loss: number;
  /** False when the loss was not finite; nothing was assigned. */
  committed: boolean;
  /** Extra outputs: views overwritten by the next run (copy what you keep). */
  outputs: Record<string, HostData>;
}

const LOSS = 'loss';
/** Graph input name of an optimizer's per-step scalar. */
const scalarInput = (name: string): string => `optimizer_${name}`;

interface Update {
  output: string;
  variable: Variable;
  spare: Float32Array;
}

export class StepRunner {
  /** Input buffers, filled by the caller before each run (an alias shares its target's). */
  readonly buffers: Record<string, HostData> = {};
  /** Inputs that share another input's buffer. */
  readonly aliases = new Set<string>();
  private readonly feeds: Record<string, OrtTensor> = {};
  private readonly fetches: Record<string, OrtTensor> = {};
  private readonly loss = new Float32Array(1);
  private readonly scalars: Float32Array[];
  private readonly extra: Record<string, HostData> = {};

  private constructor(
    private readonly runner: CompiledGraph,
    private readonly optimizer: Optimizer,
    inputs: readonly StepInputSpec[],
    private readonly updates: Update[],
    extraOutputs: { name: string; tensor: Tensor }[],
    private readonly countsAsStep = true,
  ) {
    for (const spec of inputs) {
      if (spec.alias !== undefined) {
        if (!this.buffers[spec.alias]) throw new Error(`train step: input '${spec.name}' aliases unknown input '${spec.alias}'`);
        this.buffers[spec.name] = this.buffers[spec.alias]!;
        this.feeds[spec.name] = this.feeds[spec.alias]!;
        this.aliases.add(spec.name);
        continue;
      }
      const shape = staticShape(spec.shape, `train step: input '${spec.name}'`);
      const data = allocate(spec.dtype, elementCount(shape));
      this.buffers[spec.name] = data;
      this.feeds[spec.name] = viewTensor(data, shape);
    }
    this.scalars = optimizer.scalarNames.map((name) => {
      const value = new Float32Array(1);
      this.feeds[scalarInput(name)] = viewTensor(value, []);
      return value;
    });
    this.fetches[LOSS] = viewTensor(this.loss, []);
    for (const { name, tensor } of extraOutputs) {
      const shape = staticShape(tensor.shape, `train step: output '${name}'`);
      this.extra[name] = allocate(tensor.dtype, elementCount(shape));
      this.fetches[name] = viewTensor(this.extra[name], shape);
    }
  }

  static async compile(spec: StepGraphSpec): Promise<StepRunner> {
    const traced = trace((g) => {
      const inputs = Object.fromEntries(spec.inputs.map((i) => [i.name, g.input(i.name, i.shape, i.dtype)]));
      const scalars = Object.fromEntries(spec.optimizer.scalarNames.map((name) => [name, g.input(scalarInput(name), [])]));
      const ctx = CallContext.forTraining();
      const forward = withCallContext(ctx, () => spec.forward(inputs));
      const loss = asScalar(forward.loss, spec.name);
      const outputs = forward.outputs;
      const trainable = spec.trainable();
      const grads = g.scope('gradients', () => grad(loss, trainable.map((v) => g.param(v))));
      const pairs = trainable.flatMap((variable, i) => (grads[i] ? [{ variable, grad: grads[i]! }] : []));
      const apply = spec.applyGradients ?? ((p, s) => spec.optimizer.applyGradients(p, s));
      const newValues = g.scope('optimizer', () => apply(pairs, scalars));
      for (const [variable, value] of ctx.stateUpdates) {
        if (newValues.has(variable)) throw new Error(`${spec.name}: variable '${variable.name}' is both trained and updated as state`);
        newValues.set(variable, value);
      }
      const updates = [...newValues].map(([variable, value], i) => ({ variable, value, output: `update_${i}` }));
      return { g, inputs: [...Object.values(inputs), ...Object.values(scalars)], loss, outputs, updates };
    });
    for (const name of Object.keys(traced.outputs)) {
      if (name === LOSS || name.startsWith('update_')) throw new Error(`${spec.name}: output name '${name}' is reserved`);
    }
    const runner = await CompiledGraph.compile({
      graph: traced.g,
      inputs: traced.inputs,
      outputs: {
        [LOSS]: traced.loss,
        ...traced.outputs,
        ...Object.fromEntries(traced.updates.map((u) => [u.output, u.value])),
      },
      variables: 'inputs',
      name: spec.name,
    }, { spinning: false }); // training steps are many small kernels: see SessionOptions
    const updates = traced.updates.map(({ variable, output }) => ({ variable, output, spare: new Float32Array(variable.size) }));
    const extra = Object.entries(traced.outputs).map(([name, tensor]) => ({ name, tensor }));
    return new StepRunner(runner, spec.optimizer, spec.inputs, updates, extra, spec.countsAsStep ?? true);
  }

  /** Run one step on the current buffer contents; commit it if the loss is finite. */
  async run(): Promise<StepOutcome> {
    const optimizer = this.optimizer;
    optimizer.stepScalars().forEach((value, i) => (this.scalars[i]![0] = value));
    for (const u of this.updates) this.fetches[u.output] = this.runner.view(u.spare, u.variable.shape);
    await this.runner.run(this.feeds, this.fetches);
    const loss = this.loss[0]!;
    const committed = Number.isFinite(loss);
    if (committed) {
      for (const u of this.updates) {
        const live = u.variable.value;
        u.variable.assign(u.spare, 'training step');
        u.spare = live;
      }
      if (this.countsAsStep) optimizer.iterations++;
    }
    return { loss, committed, outputs: this.extra };
  }

  async release(): Promise<void> {
    await this.runner.release();
  }
}

function staticShape(shape: readonly Dim[], where: string): number[] {
  if (!isStatic(shape)) throw new Error(`${where} needs a static shape, received ${formatShape(shape)}`);
  return [...shape];
}

/** `t` as a rank-0 tensor; a loss of any other shape than [], [1], [1, 1]... is an error. */
export function asScalar(t: Tensor, where: string): Tensor {
  if (!t.shape.every((d) => d === 1)) throw new Error(`${where}: the loss must be a scalar, received shape ${formatShape(t.shape)}`);
  return t.rank === 0 ? t : reshape(t, []);
}
