import type { Tensor } from '../../core/graph.js';
import { getActivation, type ActivationName } from '../activations.js';
import { Layer, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';

export interface ActivationArgs extends LayerArgs {
  activation: ActivationName;
}

/** Applies a named activation function (relu, sigmoid, tanh, softmax, gelu, linear, leakyRelu...). */
export class Activation extends Layer {
  readonly className = 'Activation';
  readonly activation: ActivationName;

  constructor(args: ActivationArgs) {
    super(args, 'activation');
    this.activation = args.activation;
    getActivation(this.activation, this.where);
  }

  call(x: Tensor): Tensor {
    return getActivation(this.activation, this.where)(x);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), activation: this.activation };
  }
}
registerLayer('Activation', (args: ActivationArgs) => new Activation(args));

export const activation = (args: ActivationArgs): Activation => new Activation(args);
