import type { Tensor } from '../../core/graph.js';
import { batchNorm, broadcastTo, scalar } from '../../core/ops/index.js';
import { normalizeAxis, type Shape } from '../../core/shape.js';
import type { Variable } from '../../core/variable.js';
import type { CallContext } from '../call-context.js';
import { getInitializer, serializeInitializer, type Initializer, type InitializerConfig, type InitializerSpec } from '../initializers.js';
import { Layer, read, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import { staticDim } from './checks.js';

export interface BatchNormalizationArgs extends LayerArgs {
  /** Channel axis; default 1 (NCHW images, or the features of [batch, features]). */
  axis?: number;
  /** Moving statistics: moving = momentum·moving + (1 − momentum)·batch. Default 0.99. */
  momentum?: number;
  /** Default 1e-3. */
  epsilon?: number;
  /** Learn the offset beta (default true). */
  center?: boolean;
  /** Learn the scale gamma (default true). */
  scale?: boolean;
  betaInitializer?: InitializerSpec | InitializerConfig;
  gammaInitializer?: InitializerSpec | InitializerConfig;
  movingMeanInitializer?: InitializerSpec | InitializerConfig;
  movingVarianceInitializer?: InitializerSpec | InitializerConfig;
}

/**
 * Batch normalisation with Keras' conventions. In training it normalises with
 * the batch statistics and updates the moving ones (written back after the
 * step); in inference, and whenever the layer is not trainable, it uses the
 * moving statistics. Default axis 1: Forja images are NCHW.
 */
export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  private readonly inits: Record<'beta' | 'gamma' | 'movingMean' | 'movingVariance', Initializer>;
  gamma?: Variable;
  beta?: Variable;
  movingMean?: Variable;
  movingVariance?: Variable;

  constructor(args: BatchNormalizationArgs = {}) {
    super(args, 'batch_normalization');
    this.axis = args.axis ?? 1;
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new Error(`${this.where}: momentum must be in [0, 1]. Received: momentum=${args.momentum}`);
    if (!(this.epsilon > 0)) throw new Error(`${this.where}: epsilon must be positive. Received: epsilon=${args.epsilon}`);
    this.inits = {
      beta: getInitializer(args.betaInitializer ?? 'zeros'),
      gamma: getInitializer(args.gammaInitializer ?? 'ones'),
      movingMean: getInitializer(args.movingMeanInitializer ?? 'zeros'),
      movingVariance: getInitializer(args.movingVarianceInitializer ?? 'ones'),
    };
  }

  override build(inputShape: Shape): void {
    const channels = staticDim(inputShape, normalizeAxis(this.axis, inputShape.length, this.where), this.where);
    if (this.scale) this.gamma = this.addWeight('gamma', [channels], this.inits.gamma);
    if (this.center) this.beta = this.addWeight('beta', [channels], this.inits.beta);
    this.movingMean = this.addWeight('moving_mean', [channels], this.inits.movingMean, { trainable: false });
    this.movingVariance = this.addWeight('moving_variance', [channels], this.inits.movingVariance, { trainable: false });
    this.built = true;
  }

  call(x: Tensor, ctx: CallContext): Tensor {
    const channels = [this.movingMean!.shape[0]!];
    const training = ctx.training && this.trainable;
    const result = batchNorm(
      x,
      this.gamma ? read(this.gamma) : broadcastTo(scalar(1), channels),
      this.beta ? read(this.beta) : broadcastTo(scalar(0), channels),
      {
        training,
        runningMean: read(this.movingMean!),
        runningVar: read(this.movingVariance!),
        convention: 'keras',
        momentum: this.momentum,
        epsilon: this.epsilon,
        axis: this.axis,
      },
    );
    if (training) {
      ctx.updateState(this.movingMean!, result.runningMean);
      ctx.updateState(this.movingVariance!, result.runningVar);
    }
    return result.y;
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      axis: this.axis,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: serializeInitializer(this.inits.beta),
      gammaInitializer: serializeInitializer(this.inits.gamma),
      movingMeanInitializer: serializeInitializer(this.inits.movingMean),
      movingVarianceInitializer: serializeInitializer(this.inits.movingVariance),
    };
  }
}
registerLayer('BatchNormalization', (args: BatchNormalizationArgs) => new BatchNormalization(args));

export const batchNormalization = (args: BatchNormalizationArgs = {}): BatchNormalization => new BatchNormalization(args);
