import type { Tensor } from '../core/graph.js';
import type { Variable } from '../core/variable.js';
import * as F from '../core/ops/index.js';
import { Optimizer, type Gradient, type OptimizerArgs, type StepScalars } from './optimizer.js';

export interface AdamArgs extends OptimizerArgs {
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-7 (Keras; PyTorch uses 1e-8). */
  epsilon?: number;
}

/**
 * Adam (Kingma & Ba, 2015, Algorithm 1), t the 1-based step:
 * m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²;
 * w ← w − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).
 * ε is added to the bias-corrected √v̂, as in the paper and PyTorch (Keras adds
 * it to the uncorrected √v; the two agree except where √v̂ is near ε).
 */
export class Adam extends Optimizer {
  readonly name: string = 'Adam';
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  constructor(args: AdamArgs = {}) {
    super(args, 0.001, ['m', 'v']);
    this.beta1 = args.beta1 ?? 0.9;
    this.beta2 = args.beta2 ?? 0.999;
    this.epsilon = args.epsilon ?? 1e-7;
    for (const [key, value] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(value >= 0 && value < 1)) throw new Error(`${this.constructor.name}: ${key} must be in [0, 1). Received: ${key}=${value}`);
    }
    if (!(this.epsilon >= 0)) throw new Error(`${this.constructor.name}: epsilon must be ≥ 0. Received: epsilon=${args.epsilon}`);
  }

  /**
   * Adds, with c = √(1 − β₂ᵗ): stepSize = η·c/(1 − β₁ᵗ) and scaledEpsilon = ε·c.
   * Multiplying the update's numerator and denominator by c gives
   * w ← w − stepSize · m / (√v + ε·c), the same value with one op less.
   */
  override get scalarNames(): readonly string[] {
    return [...super.scalarNames, 'stepSize', 'scaledEpsilon'];
  }

  override stepScalars(iteration = this.iterations): number[] {
    const t = iteration + 1;
    const c = Math.sqrt(1 - this.beta2 ** t);
    return [...super.stepScalars(iteration), (this.learningRateAt(iteration) * c) / (1 - this.beta1 ** t), this.epsilon * c];
  }

  protected update(w: Tensor, g: Gradient, [m0, v0]: Tensor[], scalars: StepScalars): { param: Tensor; slots: Tensor[] } {
    const m = F.add(F.mul(m0!, this.beta1), g.times(1 - this.beta1));
    const v = F.add(F.mul(v0!, this.beta2), g.squaredTimes(1 - this.beta2));
    const step = F.div(F.mul(m, scalars.stepSize!), F.add(F.sqrt(v), scalars.scaledEpsilon!));
    return { param: F.sub(w, step), slots: [m, v] };
  }

  override getConfig(): Record<string, number | string | boolean> {
    return { ...super.getConfig(), beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}

export interface AdamWArgs extends AdamArgs {
  /** Decoupled weight decay; default 0.004 (Keras). */
  weightDecay?: number;
  /** Variables to leave undecayed, e.g. `(v) => v.shape.length < 2` for biases and norm gains (nanoGPT). */
  excludeFromWeightDecay?: (variable: Variable) => boolean;
}

/**
 * AdamW (Loshchilov & Hutter, 2019): the Adam step applied to the decayed
 * weight w·(1 − η·λ), λ the weight decay.
 */
export class AdamW extends Adam {
  override readonly name: string = 'AdamW';
  readonly weightDecay: number;
  private readonly excluded: (variable: Variable) => boolean;

  constructor(args: AdamWArgs = {}) {
    super(args);
    this.weightDecay = args.weightDecay ?? 0.004;
    this.excluded = args.excludeFromWeightDecay ?? (() => false);
    if (!(this.weightDecay >= 0)) throw new Error(`AdamW: weightDecay must be ≥ 0. Received: weightDecay=${args.weightDecay}`);
  }

  protected override update(w: Tensor, g: Gradient, slots: Tensor[], scalars: StepScalars, variable?: Variable): { param: Tensor; slots: Tensor[] } {
    // w·(1 − η·λ): the factor is a scalar, so the decay costs one full-size op.
    const decayed = variable && this.excluded(variable) ? w : F.mul(w, F.sub(1, F.mul(scalars.learningRate!, this.weightDecay)));
    return super.update(decayed, g, slots, scalars);
  }

  override getConfig(): Record<string, number | string | boolean> {
    return { ...super.getConfig(), weightDecay: this.weightDecay };
  }
}

export const adam = (args: AdamArgs = {}): Adam => new Adam(args);
export const adamw = (args: AdamWArgs = {}): AdamW => new AdamW(args);
