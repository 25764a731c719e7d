import type { Tensor } from '../../core/graph.js';
import { leakyRelu } from '../../core/ops/index.js';
import { Layer, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';

export interface LeakyReLUArgs extends LayerArgs {
  /** Slope for x < 0; default 0.3 (Keras). */
  alpha?: number;
}

/** x for x ≥ 0, alpha·x otherwise. */
export class LeakyReLU extends Layer {
  readonly className = 'LeakyReLU';
  readonly alpha: number;

  constructor(args: LeakyReLUArgs = {}) {
    super(args, 'leaky_re_lu');
    this.alpha = args.alpha ?? 0.3;
    if (!Number.isFinite(this.alpha)) throw new Error(`${this.where}: alpha must be a finite number. Received: alpha=${args.alpha}`);
  }

  call(x: Tensor): Tensor {
    return leakyRelu(x, this.alpha);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), alpha: this.alpha };
  }
}
registerLayer('LeakyReLU', (args: LeakyReLUArgs) => new LeakyReLU(args));

export const leakyReLU = (args: LeakyReLUArgs = {}): LeakyReLU => new LeakyReLU(args);
