/**
 * The optimizer base: slot variables (moments) per parameter, optional
 * global-norm clipping, and an update rule each subclass emits into the
 * training-step graph. Per-step scalars (the learning rate, the step number,
 * Adam's bias corrections) are computed in float64 in JS and fed to the graph
 * as inputs: schedules need no recompile, and 1 − β₂ᵗ does not lose digits
 * to float32 cancellation.
 */
import { currentGraph, type Tensor } from '../core/graph.js';
import * as F from '../core/ops/index.js';
import { Variable } from '../core/variable.js';
import type { LearningRateSchedule } from './schedules.js';

export type LearningRate = number | LearningRateSchedule;

export interface OptimizerArgs {
  /** A number, or a schedule of the iteration count. */
  learningRate?: LearningRate;
  /** Scale gradients so their global L2 norm is at most this. */
  clipNorm?: number;
}

/** The per-step scalars as graph tensors, by name (see `scalarNames`). */
export type StepScalars = Readonly<Record<string, Tensor>>;

/** A parameter and its gradient in the step graph. */
export interface ParamGradient {
  variable: Variable;
  grad: Tensor;
}

/**
 * A gradient as an update rule receives it: `raw` times `scale` when
 * global-norm clipping is on. Rules that use g only through c·g and c·g²
 * fold the scale into their scalar c, so the clipped gradient is never
 * materialised: one full-size op less per parameter.
 */
export class Gradient {
  constructor(
    readonly raw: Tensor,
    /** The clipping factor, a scalar; undefined: no clipping. */
    readonly scale?: Tensor,
  ) {}

  /** The (clipped) gradient itself. */
  value(): Tensor {
    return this.scale ? F.mul(this.raw, this.scale) : this.raw;
  }

  /** c·g, for a scalar c. */
  times(c: number | Tensor): Tensor {
    return F.mul(this.raw, this.scale ? F.mul(this.scale, c) : c);
  }

  /** c·g², for a scalar c. */
  squaredTimes(c: number | Tensor): Tensor {
    return F.mul(F.mul(this.raw, this.raw), this.scale ? F.mul(F.mul(this.scale, this.scale), c) : c);
  }
}

export abstract class Optimizer {
  abstract readonly name: string;
  /** Steps applied so far (Keras' `optimizer.iterations`). */
  iterations = 0;
  readonly clipNorm?: number;
  private readonly learningRate: LearningRate;
  private readonly slots = new Map<Variable, Variable[]>();

  constructor(args: OptimizerArgs, defaultLearningRate: number, protected readonly slotNames: readonly string[]) {
    this.learningRate = args.learningRate ?? defaultLearningRate;
    if (typeof this.learningRate === 'number' && !(Number.isFinite(this.learningRate) && this.learningRate >= 0)) {
      throw new Error(`optimizer: learningRate must be a finite number ≥ 0 or a schedule. Received: learningRate=${this.learningRate}`);
    }
    if (args.clipNorm !== undefined && !(args.clipNorm > 0)) throw new Error(`optimizer: clipNorm must be positive. Received: clipNorm=${args.clipNorm}`);
    this.clipNorm = args.clipNorm;
  }

  /** Names of the per-step scalars this optimizer reads; 'learningRate' and 'step' (1-based) always. */
  get scalarNames(): readonly string[] {
    return ['learningRate', 'step'];
  }

  /** Values of `scalarNames` for the step after `iteration` steps. */
  stepScalars(iteration = this.iterations): number[] {
    return [this.learningRateAt(iteration), iteration + 1];
  }

  /** The rate for the step after `iteration` steps. */
  learningRateAt(iteration = this.iterations): number {
    const lr = typeof this.learningRate === 'number' ? this.learningRate : this.learningRate(iteration);
    if (!Number.isFinite(lr)) throw new Error(`${this.name}: the learning-rate schedule returned ${lr} at iteration ${iteration}`);
    return lr;
  }

  /** The slot variables of `param` (zeros, created on first use). */
  slotsFor(param: Variable): Variable[] {
    let slots = this.slots.get(param);
    if (!slots) {
      slots = this.slotNames.map((s) => new Variable(`${this.name}/${param.name}/${s}`, param.shape, undefined, false));
      this.slots.set(param, slots);
    }
    return slots;
  }

  /** Every slot variable created so far. */
  get variables(): Variable[] {
    return [...this.slots.values()].flat();
  }

  /**
   * Emit the update of every parameter into the graph being traced, reading
   * `scalars` (graph inputs named by `scalarNames`). Returns the new value of
   * each parameter and slot variable.
   */
  applyGradients(pairs: readonly ParamGradient[], scalars: StepScalars): Map<Variable, Tensor> {
    const g = currentGraph();
    const scale = this.clipNorm === undefined ? undefined : globalNormScale(pairs.map((p) => p.grad), this.clipNorm);
    const updates = new Map<Variable, Tensor>();
    pairs.forEach(({ variable, grad }) => {
      const slots = this.slotsFor(variable);
      const gradient = new Gradient(grad, scale);
      const result = g.scope(`${this.name}/${variable.name}`, () => this.update(g.param(variable), gradient, slots.map((s) => g.param(s)), scalars, variable));
      updates.set(variable, result.param);
      slots.forEach((s, k) => updates.set(s, result.slots[k]!));
    });
    return updates;
  }

  /** The new parameter and slot values for one parameter. */
  protected abstract update(param: Tensor, grad: Gradient, slots: Tensor[], scalars: StepScalars, variable: Variable): { param: Tensor; slots: Tensor[] };

  /** Hyperparameters, for reports and configs. */
  getConfig(): Record<string, number | string | boolean> {
    return {
      name: this.name,
      learningRate: typeof this.learningRate === 'number' ? this.learningRate : 'schedule',
      ...(this.clipNorm === undefined ? {} : { clipNorm: this.clipNorm }),
    };
  }
}

/** c / max(‖g‖, c), the factor that clips the gradients to norm c; ‖g‖ is the L2 norm over all of them together. */
export function globalNormScale(grads: readonly Tensor[], clipNorm: number): Tensor {
  const norm = F.sqrt(grads.map((g) => F.sumSquares(g)).reduce((a, b) => F.add(a, b)));
  return F.div(clipNorm, F.maximum(norm, clipNorm));
}

/** g·c / max(‖g‖, c) for each g (see globalNormScale). */
export function clipByGlobalNorm(grads: readonly Tensor[], clipNorm: number): Tensor[] {
  const scale = globalNormScale(grads, clipNorm);
  return grads.map((g) => F.mul(g, scale));
}
