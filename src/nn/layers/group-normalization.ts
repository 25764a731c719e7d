import type { Tensor } from '../../core/graph.js';
import { broadcastTo, groupNorm, scalar } from '../../core/ops/index.js';
import type { Shape } from '../../core/shape.js';
import type { Variable } from '../../core/variable.js';
import { getInitializer, serializeInitializer, type Initializer, type InitializerConfig, type InitializerSpec } from '../initializers.js';
import { Layer, read, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import { checkPositiveInt, staticDim } from './checks.js';

export interface GroupNormalizationArgs extends LayerArgs {
  /** Groups the channels fall into; must divide them. Default 32 (Keras). */
  groups?: number;
  /** Default 1e-3 (Keras). */
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: InitializerSpec | InitializerConfig;
  gammaInitializer?: InitializerSpec | InitializerConfig;
}

/** Normalise each example's channel groups over their channels and pixels (NCHW, channels on axis 1), then scale and shift per channel. */
export class GroupNormalization extends Layer {
  readonly className = 'GroupNormalization';
  readonly groups: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  private readonly betaInitializer: Initializer;
  private readonly gammaInitializer: Initializer;
  gamma?: Variable;
  beta?: Variable;

  constructor(args: GroupNormalizationArgs = {}) {
    super(args, 'group_normalization');
    this.groups = checkPositiveInt(args.groups ?? 32, 'groups', this.where);
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    if (!(this.epsilon > 0)) throw new Error(`${this.where}: epsilon must be positive. Received: epsilon=${args.epsilon}`);
    this.betaInitializer = getInitializer(args.betaInitializer ?? 'zeros');
    this.gammaInitializer = getInitializer(args.gammaInitializer ?? 'ones');
  }

  override build(inputShape: Shape): void {
    if (inputShape.length !== 4) throw new Error(`${this.where}: expected NCHW input [batch, channels, height, width], received rank ${inputShape.length}`);
    const channels = staticDim(inputShape, 1, this.where);
    if (channels % this.groups !== 0) {
      throw new Error(`${this.where}: groups must divide the ${channels} input channels. Received: groups=${this.groups}`);
    }
    if (this.scale) this.gamma = this.addWeight('gamma', [channels], this.gammaInitializer);
    if (this.center) this.beta = this.addWeight('beta', [channels], this.betaInitializer);
    this.built = true;
  }

  call(x: Tensor): Tensor {
    const channels = staticDim(x.shape, 1, this.where);
    const gamma = this.gamma ? read(this.gamma) : broadcastTo(scalar(1), [channels]);
    const beta = this.beta ? read(this.beta) : broadcastTo(scalar(0), [channels]);
    return groupNorm(x, gamma, beta, this.groups, { epsilon: this.epsilon });
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      groups: this.groups,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: serializeInitializer(this.betaInitializer),
      gammaInitializer: serializeInitializer(this.gammaInitializer),
    };
  }
}
registerLayer('GroupNormalization', (args: GroupNormalizationArgs) => new GroupNormalization(args));

export const groupNormalization = (args: GroupNormalizationArgs = {}): GroupNormalization => new GroupNormalization(args);
