import type { Tensor } from '../../core/graph.js';
import { conv2d as conv2dOp } from '../../core/ops/index.js';
import type { Fans } from '../initializers.js';
import { registerLayer } from '../registry.js';
import { staticDim } from './checks.js';
import { ConvBase, type ConvArgs } from './conv-base.js';

export type Conv2DArgs = ConvArgs;

/**
 * 2-D convolution over NCHW images ([batch, channels, height, width], ONNX's
 * layout, not Keras' default NHWC). The kernel is [filters, inChannels, kh, kw].
 */
export class Conv2D extends ConvBase {
  readonly className = 'Conv2D';

  constructor(args: Conv2DArgs) {
    super(args, 'conv2d');
  }

  protected kernelShape(inputChannels: number): number[] {
    return [this.filters, inputChannels, ...this.kernelSize];
  }

  protected kernelFans(inputChannels: number): Fans {
    return { fanIn: inputChannels * this.receptiveField(), fanOut: this.filters * this.receptiveField() };
  }

  protected convolve(x: Tensor, kernel: Tensor, bias: Tensor | null): Tensor {
    return conv2dOp(x, kernel, bias, { strides: this.strides, dilations: this.dilationRate, pads: this.pads(x) });
  }

  /** [top, left, bottom, right]; 'same' splits like TensorFlow (the extra row/column at the end). */
  private pads(x: Tensor): [number, number, number, number] {
    if (this.padding === 'valid') return [0, 0, 0, 0];
    const total = ([0, 1] as const).map((axis) => {
      const k = this.dilatedKernel(axis);
      const s = this.strides[axis];
      if (s === 1) return k - 1;
      const size = staticDim(x.shape, 2 + axis, `${this.where} (padding 'same' with strides > 1)`);
      return Math.max((Math.ceil(size / s) - 1) * s + k - size, 0);
    });
    const begin = total.map((t) => Math.floor(t / 2));
    return [begin[0]!, begin[1]!, total[0]! - begin[0]!, total[1]! - begin[1]!];
  }
}
registerLayer('Conv2D', (args: Conv2DArgs) => new Conv2D(args));

export const conv2d = (args: Conv2DArgs): Conv2D => new Conv2D(args);
