import type { DType } from '../../core/dtype.js';
import type { Tensor } from '../../core/graph.js';
import { formatShape, type Dim } from '../../core/shape.js';
import { Layer, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import { LayerCall, SymbolicTensor } from '../symbolic-tensor.js';

export interface InputArgs {
  /** Per-example shape, without the batch axis. Symbolic names ('seq') are allowed. */
  shape: readonly Dim[];
  /** Default float32. */
  dtype?: DType;
  name?: string;
}

/** The layer behind `input()`: it has no inputs and one symbolic output [batch, ...shape]. */
export class InputLayer extends Layer {
  readonly className = 'InputLayer';
  readonly exampleShape: readonly Dim[];
  readonly dtype: DType;
  /** The symbolic tensor this layer stands for. */
  readonly output: SymbolicTensor;

  constructor(args: InputArgs) {
    super({ name: args.name }, 'input_layer');
    const badDim = args.shape.find((d) => (typeof d === 'number' ? !Number.isInteger(d) || d < 1 : d.length === 0));
    if (badDim !== undefined) throw new Error(`${this.where}: shape must hold positive integers or dimension names. Received: shape=${formatShape(args.shape)}`);
    this.exampleShape = [...args.shape];
    this.dtype = args.dtype ?? 'float32';
    this.built = true;
    const call = new LayerCall(this, []);
    this.output = new SymbolicTensor(['batch', ...this.exampleShape], this.dtype, call, 0);
    call.outputs.push(this.output);
  }

  call(x: Tensor): Tensor {
    return x;
  }

  override getConfig(): LayerConfig {
    return { name: this.name, shape: [...this.exampleShape], dtype: this.dtype };
  }
}
registerLayer('InputLayer', (args: InputArgs) => new InputLayer(args));

/** A symbolic model input of per-example `shape` (Keras' `Input`). */
export function input(args: InputArgs): SymbolicTensor {
  return new InputLayer(args).output;
}
