import type { Tensor } from '../../core/graph.js';
import { broadcastTo, layerNorm, scalar } from '../../core/ops/index.js';
import { normalizeAxis, type Shape } from '../../core/shape.js';
import type { Variable } from '../../core/variable.js';
import { getInitializer, serializeInitializer, type Initializer, type InitializerConfig, type InitializerSpec } from '../initializers.js';
import { Layer, read, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import { staticDim } from './checks.js';

export interface LayerNormalizationArgs extends LayerArgs {
  /** First normalised axis; it and every later axis are normalised (ONNX semantics). Default -1. */
  axis?: number;
  /** Default 1e-3 (Keras). */
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: InitializerSpec | InitializerConfig;
  gammaInitializer?: InitializerSpec | InitializerConfig;
}

/** Normalise each example over axes [axis, rank), then scale by gamma and shift by beta. */
export class LayerNormalization extends Layer {
  readonly className = 'LayerNormalization';
  readonly axis: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  private readonly betaInitializer: Initializer;
  private readonly gammaInitializer: Initializer;
  gamma?: Variable;
  beta?: Variable;

  constructor(args: LayerNormalizationArgs = {}) {
    super(args, 'layer_normalization');
    this.axis = args.axis ?? -1;
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    if (!(this.epsilon > 0)) throw new Error(`${this.where}: epsilon must be positive. Received: epsilon=${args.epsilon}`);
    this.betaInitializer = getInitializer(args.betaInitializer ?? 'zeros');
    this.gammaInitializer = getInitializer(args.gammaInitializer ?? 'ones');
  }

  override build(inputShape: Shape): void {
    const first = normalizeAxis(this.axis, inputShape.length, this.where);
    if (first === 0) throw new Error(`${this.where}: cannot normalise over the batch axis. Received: axis=${this.axis}`);
    const shape = inputShape.slice(first).map((_, i) => staticDim(inputShape, first + i, this.where));
    if (this.scale) this.gamma = this.addWeight('gamma', shape, this.gammaInitializer);
    if (this.center) this.beta = this.addWeight('beta', shape, this.betaInitializer);
    this.built = true;
  }

  call(x: Tensor): Tensor {
    const shape = x.shape.slice(normalizeAxis(this.axis, x.rank, this.where)).map((_, i, s) => staticDim(s, i, this.where));
    const gamma = this.gamma ? read(this.gamma) : broadcastTo(scalar(1), shape);
    const beta = this.beta ? read(this.beta) : broadcastTo(scalar(0), shape);
    return layerNorm(x, gamma, beta, { axis: this.axis, epsilon: this.epsilon });
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      axis: this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: serializeInitializer(this.betaInitializer),
      gammaInitializer: serializeInitializer(this.gammaInitializer),
    };
  }
}
registerLayer('LayerNormalization', (args: LayerNormalizationArgs) => new LayerNormalization(args));

export const layerNormalization = (args: LayerNormalizationArgs = {}): LayerNormalization => new LayerNormalization(args);
