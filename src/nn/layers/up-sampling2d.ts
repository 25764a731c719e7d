import type { Tensor } from '../../core/graph.js';
import { upsampleNearest } from '../../core/ops/index.js';
import { Layer, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import { checkPositiveInt } from './checks.js';

export interface UpSampling2DArgs extends LayerArgs {
  /** Upsampling factor of both spatial axes; default 2. */
  size?: number;
  /** Only 'nearest' (Keras' default). */
  interpolation?: 'nearest';
}

/** Repeats each pixel of NCHW images into a size × size block. */
export class UpSampling2D extends Layer {
  readonly className = 'UpSampling2D';
  readonly size: number;

  constructor(args: UpSampling2DArgs = {}) {
    super(args, 'up_sampling2d');
    this.size = checkPositiveInt(args.size ?? 2, 'size', this.where);
    const interpolation: string = args.interpolation ?? 'nearest';
    if (interpolation !== 'nearest') throw new Error(`${this.where}: only interpolation 'nearest' is supported. Received: interpolation=${JSON.stringify(interpolation)}`);
  }

  call(x: Tensor): Tensor {
    if (x.rank !== 4) throw new Error(`${this.where}: expected NCHW input [batch, channels, height, width], received rank ${x.rank}`);
    return upsampleNearest(x, this.size);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), size: this.size, interpolation: 'nearest' };
  }
}
registerLayer('UpSampling2D', (args: UpSampling2DArgs) => new UpSampling2D(args));

export const upSampling2d = (args: UpSampling2DArgs = {}): UpSampling2D => new UpSampling2D(args);
