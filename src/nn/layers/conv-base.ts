/** What Conv2D and Conv2DTranspose share: arguments, weights, bias and activation. */
import type { Tensor } from '../../core/graph.js';
import type { Shape } from '../../core/shape.js';
import type { Variable } from '../../core/variable.js';
import { getActivation, type ActivationName } from '../activations.js';
import { getInitializer, serializeInitializer, type Fans, type Initializer, type InitializerConfig, type InitializerSpec } from '../initializers.js';
import { Layer, read, type LayerArgs, type LayerConfig } from '../layer.js';
import { checkPositiveInt, pair, staticDim } from './checks.js';

export type Padding = 'valid' | 'same';

export interface ConvArgs extends LayerArgs {
  filters: number;
  kernelSize: number | readonly [number, number];
  strides?: number | readonly [number, number];
  /** 'valid' (no padding, default) or 'same' (output = ceil(input / stride), TensorFlow's split). */
  padding?: Padding;
  dilationRate?: number | readonly [number, number];
  activation?: ActivationName;
  useBias?: boolean;
  kernelInitializer?: InitializerSpec | InitializerConfig;
  biasInitializer?: InitializerSpec | InitializerConfig;
}

export abstract class ConvBase extends Layer {
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;
  readonly dilationRate: [number, number];
  readonly activation: ActivationName;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  kernel?: Variable;
  bias?: Variable;

  constructor(args: ConvArgs, namePrefix: string) {
    super(args, namePrefix);
    this.filters = checkPositiveInt(args.filters, 'filters', this.where);
    this.kernelSize = pair(args.kernelSize, 'kernelSize', this.where);
    this.strides = pair(args.strides ?? 1, 'strides', this.where);
    this.dilationRate = pair(args.dilationRate ?? 1, 'dilationRate', this.where);
    this.padding = args.padding ?? 'valid';
    if (this.padding !== 'valid' && this.padding !== 'same') {
      throw new Error(`${this.where}: padding must be 'valid' or 'same'. Received: padding=${JSON.stringify(args.padding)}`);
    }
    this.activation = args.activation ?? 'linear';
    getActivation(this.activation, this.where);
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = getInitializer(args.kernelInitializer ?? 'glorotUniform');
    this.biasInitializer = getInitializer(args.biasInitializer ?? 'zeros');
  }

  /** The kernel's shape for `inputChannels`, in the ONNX op's layout. */
  protected abstract kernelShape(inputChannels: number): number[];
  /** Fans of that kernel as Keras computes them. */
  protected abstract kernelFans(inputChannels: number): Fans;
  /** The convolution itself. */
  protected abstract convolve(x: Tensor, kernel: Tensor, bias: Tensor | null): Tensor;

  override build(inputShape: Shape): void {
    if (inputShape.length !== 4) throw new Error(`${this.where}: expected input [batch, channels, height, width] (NCHW), received shape [${inputShape.join(', ')}]`);
    const channels = staticDim(inputShape, 1, this.where);
    this.kernel = this.addWeight('kernel', this.kernelShape(channels), this.kernelInitializer, { fans: this.kernelFans(channels) });
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], this.biasInitializer);
    this.built = true;
  }

  call(x: Tensor): Tensor {
    const y = this.convolve(x, read(this.kernel!), this.bias ? read(this.bias) : null);
    return getActivation(this.activation, this.where)(y);
  }

  protected receptiveField(): number {
    return this.kernelSize[0] * this.kernelSize[1];
  }

  /** Kernel extent along `axis` once dilated. */
  protected dilatedKernel(axis: 0 | 1): number {
    return this.dilationRate[axis] * (this.kernelSize[axis] - 1) + 1;
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: [...this.kernelSize],
      strides: [...this.strides],
      padding: this.padding,
      dilationRate: [...this.dilationRate],
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: serializeInitializer(this.kernelInitializer),
      biasInitializer: serializeInitializer(this.biasInitializer),
    };
  }
}
