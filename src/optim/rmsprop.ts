import type { Tensor } from '../core/graph.js';
import * as F from '../core/ops/index.js';
import { Optimizer, type Gradient, type OptimizerArgs, type StepScalars } from './optimizer.js';

export interface RMSpropArgs extends OptimizerArgs {
  /** Discount of the squared-gradient average; default 0.9. */
  rho?: number;
  /** Default 0. */
  momentum?: number;
  /** Default 1e-7. */
  epsilon?: number;
  /** Divide by the gradient's estimated variance instead of its second moment. */
  centered?: boolean;
}

/**
 * RMSprop, Keras' formulation: s ← ρ·s + (1 − ρ)·g²;
 * centered: ḡ ← ρ·ḡ + (1 − ρ)·g and d = s − ḡ² + ε, else d = s + ε;
 * Δ = η·g / √d; with momentum m ← μ·m + Δ and w ← w − m, else w ← w − Δ.
 */
export class RMSprop extends Optimizer {
  readonly name = 'RMSprop';
  readonly rho: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly centered: boolean;

  constructor(args: RMSpropArgs = {}) {
    const momentum = args.momentum ?? 0;
    const centered = args.centered ?? false;
    super(args, 0.001, ['velocity', ...(momentum > 0 ? ['momentum'] : []), ...(centered ? ['average_gradient'] : [])]);
    this.rho = args.rho ?? 0.9;
    this.momentum = momentum;
    this.epsilon = args.epsilon ?? 1e-7;
    this.centered = centered;
    if (!(this.rho >= 0 && this.rho < 1)) throw new Error(`RMSprop: rho must be in [0, 1). Received: rho=${args.rho}`);
    if (!(momentum >= 0 && momentum <= 1)) throw new Error(`RMSprop: momentum must be in [0, 1]. Received: momentum=${args.momentum}`);
  }

  protected update(w: Tensor, g: Gradient, slots: Tensor[], scalars: StepScalars): { param: Tensor; slots: Tensor[] } {
    const [velocity, ...rest] = slots;
    const s = F.add(F.mul(velocity!, this.rho), g.squaredTimes(1 - this.rho));
    const next: Tensor[] = [s];
    let denominator = F.add(s, this.epsilon);
    if (this.centered) {
      const avg = F.add(F.mul(rest[rest.length - 1]!, this.rho), g.times(1 - this.rho));
      denominator = F.add(F.sub(s, F.mul(avg, avg)), this.epsilon);
      next.push(avg);
    }
    const increment = F.div(g.times(scalars.learningRate!), F.sqrt(denominator));
    if (this.momentum === 0) return { param: F.sub(w, increment), slots: next };
    const m = F.add(F.mul(rest[0]!, this.momentum), increment);
    // Slot order follows slotNames: velocity, momentum, average_gradient.
    return { param: F.sub(w, m), slots: [s, m, ...next.slice(1)] };
  }

  override getConfig(): Record<string, number | string | boolean> {
    return { ...super.getConfig(), rho: this.rho, momentum: this.momentum, epsilon: this.epsilon, centered: this.centered };
  }
}

export const rmsprop = (args: RMSpropArgs = {}): RMSprop => new RMSprop(args);
