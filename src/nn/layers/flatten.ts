import type { Tensor } from '../../core/graph.js';
import { reshape } from '../../core/ops/index.js';
import { Layer, type LayerArgs } from '../layer.js';
import { registerLayer } from '../registry.js';
import { exampleSize } from './checks.js';

/** [batch, d1, d2, ...] → [batch, d1·d2·...]. */
export class Flatten extends Layer {
  readonly className = 'Flatten';

  constructor(args: LayerArgs = {}) {
    super(args, 'flatten');
  }

  call(x: Tensor): Tensor {
    // The size is computed here because reshape cannot infer -1 next to a symbolic batch.
    return reshape(x, [x.shape[0]!, exampleSize(x.shape, this.where)]);
  }
}
registerLayer('Flatten', (args: LayerArgs) => new Flatten(args));

export const flatten = (args: LayerArgs = {}): Flatten => new Flatten(args);
