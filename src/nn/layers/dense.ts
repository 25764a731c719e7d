import type { Tensor } from '../../core/graph.js';
import { add, matmul } from '../../core/ops/index.js';
import { formatShape, type Shape } from '../../core/shape.js';
import type { Variable } from '../../core/variable.js';
import { getActivation, type ActivationName } from '../activations.js';
import { getInitializer, serializeInitializer, type Initializer, type InitializerConfig, type InitializerSpec } from '../initializers.js';
import { Layer, read, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import { checkPositiveInt, lastDim } from './checks.js';

export interface DenseArgs extends LayerArgs {
  units: number;
  /** Default 'linear'. */
  activation?: ActivationName;
  useBias?: boolean;
  /** Default glorotUniform. */
  kernelInitializer?: InitializerSpec | InitializerConfig;
  /** Default zeros. */
  biasInitializer?: InitializerSpec | InitializerConfig;
}

/**
 * Densely connected layer: `activation(x · kernel + bias)` on the last axis.
 * The kernel is [inputDim, units] (Keras' layout; PyTorch's Linear.weight is
 * its transpose).
 */
export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  kernel?: Variable;
  bias?: Variable;

  constructor(args: DenseArgs) {
    super(args, 'dense');
    this.units = checkPositiveInt(args.units, 'units', this.where);
    this.activation = args.activation ?? 'linear';
    getActivation(this.activation, this.where);
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = getInitializer(args.kernelInitializer ?? 'glorotUniform');
    this.biasInitializer = getInitializer(args.biasInitializer ?? 'zeros');
  }

  override build(inputShape: Shape): void {
    const inputDim = lastDim(inputShape, this.where);
    this.kernel = this.addWeight('kernel', [inputDim, this.units], this.kernelInitializer);
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], this.biasInitializer);
    this.built = true;
  }

  call(x: Tensor): Tensor {
    const kernel = this.kernel!;
    if (x.shape[x.rank - 1] !== kernel.shape[0]) {
      throw new Error(`${this.where}: expected input last dimension ${kernel.shape[0]}, received shape ${formatShape(x.shape)}`);
    }
    const y = matmul(x, read(kernel));
    return getActivation(this.activation, this.where)(this.bias ? add(y, read(this.bias)) : y);
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: serializeInitializer(this.kernelInitializer),
      biasInitializer: serializeInitializer(this.biasInitializer),
    };
  }
}
registerLayer('Dense', (args: DenseArgs) => new Dense(args));

export const dense = (args: DenseArgs): Dense => new Dense(args);
