import type { Tensor } from '../../core/graph.js';
import { reshape as reshapeOp } from '../../core/ops/index.js';
import { formatShape } from '../../core/shape.js';
import { Layer, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import { exampleSize } from './checks.js';

export interface ReshapeArgs extends LayerArgs {
  /** Per-example target shape (no batch axis); one entry may be -1. */
  targetShape: readonly number[];
}

/** Reshape each example to `targetShape`, keeping the batch axis. */
export class Reshape extends Layer {
  readonly className = 'Reshape';
  readonly targetShape: readonly number[];

  constructor(args: ReshapeArgs) {
    super(args, 'reshape');
    this.targetShape = [...args.targetShape];
    const bad = this.targetShape.some((d) => !Number.isInteger(d) || d === 0 || d < -1) || this.targetShape.filter((d) => d === -1).length > 1;
    if (bad) throw new Error(`${this.where}: targetShape must be positive integers with at most one -1. Received: targetShape=${formatShape(this.targetShape)}`);
  }

  call(x: Tensor): Tensor {
    const size = exampleSize(x.shape, this.where);
    const known = this.targetShape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (size % known !== 0 || (!this.targetShape.includes(-1) && size !== known)) {
      throw new Error(`${this.where}: cannot reshape examples of shape ${formatShape(x.shape.slice(1))} (${size} values) to ${formatShape(this.targetShape)}`);
    }
    // -1 is resolved here: reshape cannot infer it next to a symbolic batch.
    return reshapeOp(x, [x.shape[0]!, ...this.targetShape.map((d) => (d === -1 ? size / known : d))]);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), targetShape: [...this.targetShape] };
  }
}
registerLayer('Reshape', (args: ReshapeArgs) => new Reshape(args));

export const reshape = (args: ReshapeArgs): Reshape => new Reshape(args);
