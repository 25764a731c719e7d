/**
 * Layer classes by name, for rebuilding models from config.json. Each layer
 * file registers itself beside its definition.
 */
import type { Layer, LayerConfig } from './layer.js';

type LayerFactory = (config: LayerConfig) => Layer;

const factories = new Map<string, LayerFactory>();

/** Register `create` under `className`; it receives what the layer's getConfig() returned. */
export function registerLayer<Args>(className: string, create: (args: Args) => Layer): void {
  if (factories.has(className)) throw new Error(`registerLayer: '${className}' is registered twice`);
  // The config was written by this class's getConfig(), so it has the shape of Args.
  factories.set(className, (config) => create(config as Args));
}

/** A serialised layer: its class name and constructor arguments. */
export interface SerializedLayer {
  className: string;
  config: LayerConfig;
}

export function serializeLayer(layer: Layer): SerializedLayer {
  return { className: layer.className, config: layer.getConfig() };
}

/** Rebuild a layer from its serialised form; `where` names the file or model for errors. */
export function deserializeLayer(entry: SerializedLayer, where: string): Layer {
  const create = factories.get(entry.className);
  if (!create) {
    throw new Error(`${where}: unknown layer class '${entry.className}'; registered: ${[...factories.keys()].sort().join(', ')}`);
  }
  return create(entry.config);
}
