/**
 * Sequential: a plain stack of layers, each feeding the next. It knows its
 * input once the first layer has an `inputShape` (or is a model), or when the
 * first data or symbolic tensor arrives; until then it is unbuilt.
 */
import type { DType } from '../core/dtype.js';
import type { Dim, Shape } from '../core/shape.js';
import { deserializeLayer, input, registerLayer, serializeLayer, type Layer, type LayerArgs, type LayerConfig, type SerializedLayer } from '../nn/index.js';
import { Model } from './model.js';

interface SequentialConfig extends LayerConfig {
  layers: SerializedLayer[];
  /** The per-example input shape it was built for, if built. */
  buildInputShape?: Dim[];
  buildInputDtype?: DType;
}

export class Sequential extends Model {
  readonly className = 'Sequential';
  private readonly stack: Layer[] = [];

  constructor(layers: readonly Layer[] = [], args: LayerArgs = {}) {
    super(args, 'sequential');
    layers.forEach((l) => this.add(l));
  }

  /** Append a layer (rewiring the model if it is already built). */
  add(layer: Layer): void {
    if (layer === this) throw new Error(`${this.where}: a model cannot contain itself`);
    if (this.stack.some((l) => l.name === layer.name)) throw new Error(`${this.where}: already holds a layer named '${layer.name}'`);
    this.stack.push(layer);
    this.resetInference();
    const known = this.knownInput();
    if (known) this.wire(known.shape, known.dtype);
  }

  override get layers(): Layer[] {
    return [...this.stack];
  }

  /** The input's per-example shape, from this model's or the first layer's `inputShape`, or a nested model. */
  private knownInput(): { shape: Shape; dtype: DType } | null {
    if (this.inputs[0]) return { shape: this.inputs[0].exampleShape, dtype: this.inputs[0].dtype };
    if (this.inputShape) return { shape: this.inputShape, dtype: this.inputDtype };
    const first = this.stack[0];
    if (!first) return null;
    if (first.inputShape) return { shape: first.inputShape, dtype: first.inputDtype };
    if (first instanceof Model && first.inputs.length === 1) return { shape: first.inputs[0]!.exampleShape, dtype: first.inputs[0]!.dtype };
    return null;
  }

  protected override buildFor(shapes: readonly Shape[]): void {
    if (shapes.length !== 1) throw new Error(`${this.where}: a Sequential model takes 1 input, received ${shapes.length}`);
    this.wire(shapes[0]!.slice(1), this.knownInput()?.dtype ?? 'float32');
  }

  private wire(exampleShape: Shape, dtype: DType): void {
    if (this.stack.length === 0) throw new Error(`${this.where}: has no layers`);
    const inp = input({ shape: exampleShape, dtype, name: `${this.name}_input` });
    const out = this.stack.reduce((x, layer) => layer.apply(x), inp);
    this.setGraph([inp], [out]);
  }

  override getConfig(): SequentialConfig {
    const first = this.inputs[0];
    return {
      name: this.name,
      trainable: this.trainable,
      layers: this.stack.map(serializeLayer),
      ...(first ? { buildInputShape: first.exampleShape, buildInputDtype: first.dtype } : {}),
    };
  }

  static fromConfig(config: SequentialConfig): Sequential {
    const where = `Sequential '${config.name}'`;
    const layers = config.layers.map((entry) => deserializeLayer(entry, where));
    const args: LayerArgs = { name: config.name, trainable: config.trainable !== false };
    const model = new Sequential([], config.buildInputShape ? { ...args, inputShape: config.buildInputShape, inputDtype: config.buildInputDtype } : args);
    layers.forEach((l) => model.add(l));
    return model;
  }
}
registerLayer('Sequential', (config: SequentialConfig) => Sequential.fromConfig(config));

/** A model stacking `layers` (Keras' `Sequential([...])`). */
export function sequential(layers: readonly Layer[] = [], args: LayerArgs = {}): Sequential {
  return new Sequential(layers, args);
}
