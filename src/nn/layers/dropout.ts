import type { Tensor } from '../../core/graph.js';
import { dropout as dropoutOp } from '../../core/ops/index.js';
import type { CallContext } from '../call-context.js';
import { nextSeed } from '../initializers.js';
import { Layer, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import { checkRate } from './checks.js';

export interface DropoutArgs extends LayerArgs {
  /** Fraction of inputs to zero in training. */
  rate: number;
  /** Seed of the mask sequence; default drawn from the global generator (see setRandomSeed). */
  seed?: number;
}

/** Inverted dropout in training (kept values scaled by 1/(1−rate)); the identity in inference. */
export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly rate: number;
  private readonly seedArg?: number;
  private readonly seed: number;

  constructor(args: DropoutArgs) {
    super(args, 'dropout');
    this.rate = checkRate(args.rate, 'rate', this.where);
    this.seedArg = args.seed;
    this.seed = args.seed ?? nextSeed();
  }

  call(x: Tensor, ctx: CallContext): Tensor {
    return dropoutOp(x, this.rate, { training: ctx.training, seed: this.seed });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), rate: this.rate, ...(this.seedArg === undefined ? {} : { seed: this.seedArg }) };
  }
}
registerLayer('Dropout', (args: DropoutArgs) => new Dropout(args));

export const dropout = (args: DropoutArgs): Dropout => new Dropout(args);
