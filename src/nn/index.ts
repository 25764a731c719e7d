/** Layers and what building a graph from them needs: symbolic tensors, call contexts, host data, initializers, weights on disk. Models are in keras/. */
export * as layers from './layers/index.js';
export { input, InputLayer, type InputArgs } from './layers/input-layer.js';
export { Layer, read, uniqueLayerName, type AddWeightOptions, type ApplyOptions, type LayerArgs, type LayerConfig } from './layer.js';
export { SymbolicTensor, LayerCall } from './symbolic-tensor.js';
export { CallContext, currentCallContext, withCallContext } from './call-context.js';
export { HostTensor, hostTensor, hostInputList, toHostTensor, gatherRowsInto, copyData, allocate, type HostData, type HostInput } from './host-tensor.js';
export * as initializers from './initializers.js';
export { setRandomSeed } from './initializers.js';
export { getActivation, type ActivationName } from './activations.js';
export { registerLayer, deserializeLayer, serializeLayer, type SerializedLayer } from './registry.js';
export { saveWeights, loadWeights, assignTensors, weightPaths, WEIGHTS_FILE } from './weights.js';
export { InferenceRunner, runInChunks, type InferenceModel } from './inference.js';
