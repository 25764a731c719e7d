/** The Keras-style model API: layers, models, initializers, saving. */
export * as layers from './layers/index.js';
export { input, InputLayer, type InputArgs } from './layers/input-layer.js';
export { Layer, read, uniqueLayerName, type AddWeightOptions, type ApplyOptions, type LayerArgs, type LayerConfig } from './layer.js';
export { Model, type PredictOptions } from './model.js';
export { Functional, model, type FunctionalArgs } from './functional.js';
export { Sequential, sequential } from './sequential.js';
export { SymbolicTensor, LayerCall } from './symbolic-tensor.js';
export { CallContext, currentCallContext, withCallContext } from './call-context.js';
export { HostTensor, hostTensor, toHostTensor, gatherRowsInto, copyData, allocate, type HostData, type HostInput } from './host-tensor.js';
export * as initializers from './initializers.js';
export { setRandomSeed } from './initializers.js';
export { getActivation, type ActivationName } from './activations.js';
export { registerLayer, deserializeLayer, serializeLayer, type SerializedLayer } from './registry.js';
export { saveModel, loadModel, saveWeights, loadWeights, assignTensors, weightPaths, CONFIG_FILE, WEIGHTS_FILE } from './saving.js';
export { formatKerasShape } from './summary.js';
export { runInChunks } from './inference.js';
