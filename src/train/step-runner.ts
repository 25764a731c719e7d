/**
 * One training step = one ONNX graph = one session.run: forward, loss,
 * gradients, optimizer update and state (BatchNorm) updates. Parameters,
 * optimizer slots and state are fed as inputs and come back as outputs.
 * With stepsPerRun above 1 the graph loops over several batches in one run,
 * and the parameters come back once, after the last.
 *
 * Per run nothing is allocated: data goes into reusable input buffers, and
 * each updated variable owns a spare array the session writes its new value
 * into (a preallocated fetch). After a run with a finite loss the spare and
 * the live array swap; after a non-finite loss nothing is assigned, so the
 * weights stay where the run began. Consequence: an array read from
 * `variable.value` is overwritten two runs later; copy it (getWeights) to keep it.
 */
import { grad } from '../autodiff/grad.js';
import type { DType } from '../core/dtype.js';
import { trace, type Tensor } from '../core/graph.js';
import { elementCount, formatShape, isStatic, type Dim } from '../core/shape.js';
import type { Variable } from '../core/variable.js';
import { reshape } from '../core/ops/index.js';
import { allocate, CallContext, withCallContext, type HostData } from '../nn/index.js';
import { emitModel, type EmittedModel } from '../onnx/emit.js';
import { repeatModel, STEPS_INPUT } from '../onnx/repeat.js';
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
  /** Most steps one run may take (default 1): above 1 the graph loops over stacked batches (onnx/repeat.ts). */
  stepsPerRun?: number;
}

export interface StepOutcome {
  /** The last step's loss. */
  loss: number;
  /** Each step's loss, in order (a view overwritten by the next run). */
  losses: Float32Array;
  /** False when a loss was not finite; nothing was assigned. */
  committed: boolean;
  /** Extra outputs, one per step stacked in order: views overwritten by the next run (copy what you keep). */
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

/** A per-step input or output: its buffer holds `stepsPerRun` steps' values back to back. */
interface StepValue {
  name: string;
  data: HostData;
  /** One step's shape. */
  shape: number[];
}

export class StepRunner {
  /**
   * Input buffers, filled by the caller before each run (an alias shares its target's); each holds
   * stepsPerRun steps' values back to back, step i's at i × (one step's size).
   */
  readonly buffers: Record<string, HostData> = {};
  /** Inputs that share another input's buffer. */
  readonly aliases = new Set<string>();
  private readonly values: StepValue[] = [];
  private readonly aliasOf = new Map<string, string>();
  private readonly outputValues: StepValue[] = [];
  /** Feeds and fetches by the number of steps a run takes. */
  private readonly bindings = new Map<number, { feeds: Record<string, OrtTensor>; fetches: Record<string, OrtTensor> }>();
  private readonly losses: Float32Array;
  private readonly scalars: Float32Array[];
  private readonly extra: Record<string, HostData> = {};

  private constructor(
    private readonly runner: CompiledGraph,
    readonly optimizer: Optimizer,
    inputs: readonly StepInputSpec[],
    private readonly updates: Update[],
    extraOutputs: { name: string; tensor: Tensor }[],
    private readonly countsAsStep: boolean,
    /** Most steps one run takes; above 1 the graph is a loop over steps (onnx/repeat.ts). */
    readonly stepsPerRun: number,
  ) {
    for (const spec of inputs) {
      if (spec.alias !== undefined) {
        if (!this.buffers[spec.alias]) throw new Error(`train step: input '${spec.name}' aliases unknown input '${spec.alias}'`);
        this.buffers[spec.name] = this.buffers[spec.alias]!;
        this.aliasOf.set(spec.name, spec.alias);
        this.aliases.add(spec.name);
        continue;
      }
      const shape = staticShape(spec.shape, `train step: input '${spec.name}'`);
      const data = allocate(spec.dtype, stepsPerRun * elementCount(shape));
      this.buffers[spec.name] = data;
      this.values.push({ name: spec.name, data, shape });
    }
    this.scalars = optimizer.scalarNames.map((name) => {
      const data = new Float32Array(stepsPerRun);
      this.values.push({ name: scalarInput(name), data, shape: [] });
      return data;
    });
    this.losses = new Float32Array(stepsPerRun);
    this.outputValues.push({ name: LOSS, data: this.losses, shape: [] });
    for (const { name, tensor } of extraOutputs) {
      const shape = staticShape(tensor.shape, `train step: output '${name}'`);
      this.extra[name] = allocate(tensor.dtype, stepsPerRun * elementCount(shape));
      this.outputValues.push({ name, data: this.extra[name], shape });
    }
  }

  static async compile(spec: StepGraphSpec): Promise<StepRunner> {
    const stepsPerRun = spec.stepsPerRun ?? 1;
    if (!Number.isInteger(stepsPerRun) || stepsPerRun < 1) throw new Error(`${spec.name}: stepsPerRun must be a positive integer, received ${stepsPerRun}`);
    if (stepsPerRun > 1 && spec.countsAsStep === false) throw new Error(`${spec.name}: a run of several steps must count them as optimizer steps`);
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
    let model = emitModel({
      graph: traced.g,
      inputs: traced.inputs,
      outputs: {
        [LOSS]: traced.loss,
        ...traced.outputs,
        ...Object.fromEntries(traced.updates.map((u) => [u.output, u.value])),
      },
      variables: 'inputs',
      name: spec.name,
    });
    if (stepsPerRun > 1) model = repeatSteps(model, traced.updates, spec.name);
    const runner = await CompiledGraph.load(model, spec.name, { spinning: false }); // training steps are many small kernels: see SessionOptions
    const updates = traced.updates.map(({ variable, output }) => ({ variable, output, spare: new Float32Array(variable.size) }));
    const extra = Object.entries(traced.outputs).map(([name, tensor]) => ({ name, tensor }));
    return new StepRunner(runner, spec.optimizer, spec.inputs, updates, extra, spec.countsAsStep ?? true, stepsPerRun);
  }

  /**
   * Take `steps` steps (1 to stepsPerRun) on the current buffer contents in one session.run; commit
   * them if every loss is finite. After a non-finite loss nothing is assigned: the weights stay where
   * the run began.
   */
  async run(steps = 1): Promise<StepOutcome> {
    if (!Number.isInteger(steps) || steps < 1 || steps > this.stepsPerRun) {
      throw new Error(`train step: a run takes 1 to ${this.stepsPerRun} steps, received ${steps}`);
    }
    const optimizer = this.optimizer;
    for (let s = 0; s < steps; s++) optimizer.stepScalars(optimizer.iterations + s).forEach((value, i) => (this.scalars[i]![s] = value));
    const { feeds, fetches } = this.binding(steps);
    for (const u of this.updates) fetches[u.output] = this.runner.view(u.spare, u.variable.shape);
    await this.runner.run(feeds, fetches);
    const losses = this.losses.subarray(0, steps);
    const committed = losses.every(Number.isFinite);
    if (committed) {
      for (const u of this.updates) {
        const live = u.variable.value;
        u.variable.assign(u.spare, 'training step');
        u.spare = live;
      }
      if (this.countsAsStep) optimizer.iterations += steps;
    }
    return { loss: losses[steps - 1]!, losses, committed, outputs: this.extra };
  }

  /** ORT tensors viewing the first `steps` steps of each buffer, stacked on a leading axis when the graph loops. */
  private binding(steps: number): { feeds: Record<string, OrtTensor>; fetches: Record<string, OrtTensor> } {
    let found = this.bindings.get(steps);
    if (found) return found;
    const repeated = this.stepsPerRun > 1;
    const view = ({ data, shape }: StepValue): OrtTensor =>
      viewTensor(data.subarray(0, steps * elementCount(shape)), repeated ? [steps, ...shape] : shape);
    const feeds: Record<string, OrtTensor> = Object.fromEntries(this.values.map((v) => [v.name, view(v)]));
    for (const [alias, target] of this.aliasOf) feeds[alias] = feeds[target]!;
    if (repeated) {
      feeds[STEPS_INPUT] = viewTensor(new BigInt64Array([BigInt(steps)]), []);
    }
    found = { feeds, fetches: Object.fromEntries(this.outputValues.map((v) => [v.name, view(v)])) };
    this.bindings.set(steps, found);
    return found;
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

/** The step as a loop over steps: per-step inputs sliced by trip, each updated variable carried to the next trip. */
function repeatSteps(model: EmittedModel, updates: readonly { variable: Variable; output: string }[], name: string): EmittedModel {
  const carried = updates.map(({ variable, output }): [string, string] => {
    const i = model.variableInputs.indexOf(variable);
    if (i < 0) throw new Error(`${name}: variable '${variable.name}' is updated but never read, so steps cannot run in a loop`);
    return [model.variableInputNames[i]!, output];
  });
  const stacked = model.outputNames.filter((output) => !updates.some((u) => u.output === output));
  return repeatModel(model, { perStep: model.inputNames, carried, stacked });
}
