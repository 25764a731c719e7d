import type { Tensor } from '../core/graph.js';
import * as F from '../core/ops/index.js';
import { Optimizer, type Gradient, type OptimizerArgs, type StepScalars } from './optimizer.js';

export interface SGDArgs extends OptimizerArgs {
  /** Default 0.01. */
  learningRate?: OptimizerArgs['learningRate'];
  /** Default 0 (plain gradient descent). */
  momentum?: number;
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent, Keras' formulation (η = learning rate, μ = momentum):
 * without momentum w ← w − η·g; with it v ← μ·v − η·g, then
 * w ← w + v, or w ← w + μ·v − η·g with Nesterov.
 */
export class SGD extends Optimizer {
  readonly name = 'SGD';
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor(args: SGDArgs = {}) {
    const momentum = args.momentum ?? 0;
    super(args, 0.01, momentum > 0 ? ['momentum'] : []);
    if (!(momentum >= 0 && momentum <= 1)) throw new Error(`SGD: momentum must be in [0, 1]. Received: momentum=${args.momentum}`);
    this.momentum = momentum;
    this.nesterov = args.nesterov ?? false;
  }

  protected update(w: Tensor, g: Gradient, slots: Tensor[], scalars: StepScalars): { param: Tensor; slots: Tensor[] } {
    const step = g.times(scalars.learningRate!);
    if (this.momentum === 0) return { param: F.sub(w, step), slots: [] };
    const v = F.sub(F.mul(slots[0]!, this.momentum), step);
    const param = this.nesterov ? F.sub(F.add(w, F.mul(v, this.momentum)), step) : F.add(w, v);
    return { param, slots: [v] };
  }

  override getConfig(): Record<string, number | string | boolean> {
    return { ...super.getConfig(), momentum: this.momentum, nesterov: this.nesterov };
  }
}

export const sgd = (args: SGDArgs = {}): SGD => new SGD(args);
