/** Every layer: the class and its Keras-style factory (layers.dense({...})). */
export { Activation, activation, type ActivationArgs } from './activation.js';
export { BatchNormalization, batchNormalization, type BatchNormalizationArgs } from './batch-normalization.js';
export { Conv2D, conv2d, type Conv2DArgs } from './conv2d.js';
export { Conv2DTranspose, conv2dTranspose, type Conv2DTransposeArgs } from './conv2d-transpose.js';
export type { ConvArgs, Padding } from './conv-base.js';
export { Dense, dense, type DenseArgs } from './dense.js';
export { Dropout, dropout, type DropoutArgs } from './dropout.js';
export { Embedding, embedding, type EmbeddingArgs } from './embedding.js';
export { Flatten, flatten } from './flatten.js';
export { GroupNormalization, groupNormalization, type GroupNormalizationArgs } from './group-normalization.js';
export { InputLayer, input, type InputArgs } from './input-layer.js';
export { LayerNormalization, layerNormalization, type LayerNormalizationArgs } from './layer-normalization.js';
export { LeakyReLU, leakyReLU, type LeakyReLUArgs } from './leaky-relu.js';
export { Reshape, reshape, type ReshapeArgs } from './reshape.js';
export { UpSampling2D, upSampling2d, type UpSampling2DArgs } from './up-sampling2d.js';
