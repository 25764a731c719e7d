import type { Tensor } from '../../core/graph.js';
import { conv2dTranspose as conv2dTransposeOp } from '../../core/ops/index.js';
import type { Fans } from '../initializers.js';
import type { LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import { pair } from './checks.js';
import { ConvBase, type ConvArgs } from './conv-base.js';

export interface Conv2DTransposeArgs extends ConvArgs {
  /** Extra rows/columns at the end of the output (< stride); default: Keras' output size rule. */
  outputPadding?: number | readonly [number, number];
}

/**
 * Transposed 2-D convolution over NCHW images. The kernel is
 * [inChannels, filters, kh, kw] (ONNX's and PyTorch's layout). Output size
 * follows Keras: 'same' gives input·stride, 'valid' input·stride + max(k − stride, 0).
 */
export class Conv2DTranspose extends ConvBase {
  readonly className = 'Conv2DTranspose';
  readonly outputPadding?: [number, number];

  constructor(args: Conv2DTransposeArgs) {
    super(args, 'conv2d_transpose');
    if (args.outputPadding !== undefined) {
      const op = pair(args.outputPadding, 'outputPadding', this.where);
      if (op.some((p, i) => p >= this.strides[i]!)) {
        throw new Error(`${this.where}: outputPadding must be smaller than strides [${this.strides.join(', ')}]. Received: outputPadding=[${op.join(', ')}]`);
      }
      this.outputPadding = op;
    }
  }

  protected kernelShape(inputChannels: number): number[] {
    return [inputChannels, this.filters, ...this.kernelSize];
  }

  protected kernelFans(inputChannels: number): Fans {
    return { fanIn: this.filters * this.receptiveField(), fanOut: inputChannels * this.receptiveField() };
  }

  protected convolve(x: Tensor, kernel: Tensor, bias: Tensor | null): Tensor {
    const geometry = ([0, 1] as const).map((axis) => this.axisGeometry(axis));
    return conv2dTransposeOp(x, kernel, bias, {
      strides: this.strides,
      dilations: this.dilationRate,
      pads: [geometry[0]!.begin, geometry[1]!.begin, geometry[0]!.end, geometry[1]!.end],
      outputPadding: [geometry[0]!.outputPadding, geometry[1]!.outputPadding],
    });
  }

  /**
   * ONNX crops `begin`/`end` from, and appends `outputPadding` to, the full
   * transposed output (input−1)·s + k. The crop that gives Keras' size does
   * not depend on the input size.
   */
  private axisGeometry(axis: 0 | 1): { begin: number; end: number; outputPadding: number } {
    const k = this.dilatedKernel(axis);
    const s = this.strides[axis];
    if (this.outputPadding) {
      const pad = this.padding === 'same' ? Math.floor(k / 2) : 0;
      return { begin: pad, end: pad, outputPadding: this.outputPadding[axis] };
    }
    const crop = this.padding === 'same' ? k - s : Math.min(k - s, 0);
    if (crop < 0) return { begin: 0, end: 0, outputPadding: -crop };
    const begin = Math.floor(crop / 2);
    return { begin, end: crop - begin, outputPadding: 0 };
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), ...(this.outputPadding ? { outputPadding: [...this.outputPadding] } : {}) };
  }
}
registerLayer('Conv2DTranspose', (args: Conv2DTransposeArgs) => new Conv2DTranspose(args));

export const conv2dTranspose = (args: Conv2DTransposeArgs): Conv2DTranspose => new Conv2DTranspose(args);
