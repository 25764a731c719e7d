/**
 * Functional models: `model({ inputs, outputs })` over layers applied to
 * symbolic tensors. Their config saves the topology Keras-style: each layer
 * with the calls that feed it ("inbound nodes"), as [layer, call, output].
 */
import { deserializeLayer, InputLayer, registerLayer, serializeLayer, type Layer, type LayerConfig, type SerializedLayer, type SymbolicTensor } from '../nn/index.js';
import { Model } from './model.js';

export interface FunctionalArgs {
  inputs: SymbolicTensor | readonly SymbolicTensor[];
  outputs: SymbolicTensor | readonly SymbolicTensor[];
  name?: string;
  trainable?: boolean;
}

/** [layer name, index of the call among this model's calls of that layer, output index]. */
export type TensorRef = [string, number, number];

interface FunctionalConfig extends LayerConfig {
  layers: (SerializedLayer & { inboundNodes: TensorRef[][] })[];
  inputLayers: TensorRef[];
  outputLayers: TensorRef[];
}

const asList = <T>(x: T | readonly T[]): T[] => (Array.isArray(x) ? [...(x as readonly T[])] : [x as T]);

export class Functional extends Model {
  readonly className = 'Functional';

  constructor(args: FunctionalArgs) {
    super({ name: args.name, trainable: args.trainable }, 'functional');
    this.setGraph(asList(args.inputs), asList(args.outputs));
  }

  override getConfig(): FunctionalConfig {
    const callIndex = new Map(this.calls.map((call) => [call, this.calls.filter((c) => c.layer === call.layer).indexOf(call)]));
    const ref = (t: SymbolicTensor): TensorRef => [t.producer.layer.name, callIndex.get(t.producer)!, t.index];
    const layers = this.layers.map((layer) => ({
      ...serializeLayer(layer),
      inboundNodes: this.calls.filter((c) => c.layer === layer && !(layer instanceof InputLayer)).map((c) => c.inputs.map(ref)),
    }));
    return { name: this.name, trainable: this.trainable, layers, inputLayers: this.inputs.map(ref), outputLayers: this.outputs.map(ref) };
  }

  /** Rebuild from getConfig(): create every layer, then replay the calls once their inputs exist. */
  static fromConfig(config: FunctionalConfig): Functional {
    const where = `Functional '${config.name}'`;
    const layers = new Map<string, Layer>();
    const produced = new Map<string, SymbolicTensor[]>();
    const key = (name: string, call: number): string => `${name}#${call}`;
    const pending: { layer: Layer; call: number; inputs: TensorRef[] }[] = [];
    for (const entry of config.layers) {
      const layer = deserializeLayer(entry, where);
      layers.set(layer.name, layer);
      if (layer instanceof InputLayer) produced.set(key(layer.name, 0), [layer.output]);
      entry.inboundNodes.forEach((inputs, call) => pending.push({ layer, call, inputs }));
    }
    const lookup = (r: TensorRef): SymbolicTensor | undefined => produced.get(key(r[0], r[1]))?.[r[2]];
    while (pending.length > 0) {
      const ready = pending.findIndex((p) => p.inputs.every((r) => lookup(r) !== undefined));
      if (ready < 0) throw new Error(`${where}: config has calls whose inputs are never produced: ${pending.map((p) => p.layer.name).join(', ')}`);
      const { layer, call, inputs } = pending.splice(ready, 1)[0]!;
      produced.set(key(layer.name, call), layer.apply(inputs.map((r) => lookup(r)!)));
    }
    const resolve = (r: TensorRef): SymbolicTensor => {
      const t = lookup(r);
      if (!t) throw new Error(`${where}: config refers to missing tensor [${r.join(', ')}]`);
      return t;
    };
    return new Functional({ name: config.name, inputs: config.inputLayers.map(resolve), outputs: config.outputLayers.map(resolve), trainable: config.trainable !== false });
  }
}
registerLayer('Functional', (config: FunctionalConfig) => Functional.fromConfig(config));

/** A model from symbolic inputs to outputs (Keras' `Model(inputs, outputs)`). */
export function model(args: FunctionalArgs): Functional {
  return new Functional(args);
}
