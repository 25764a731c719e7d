export {
  type Dataset,
  type ImageDataset,
  type BatchOptions,
  type IndexSplit,
  batches,
  batchCount,
  epochSeed,
  gatherRows,
  gatherLabels,
  splitValidation,
  subset,
} from './batches.js';
export {
  type MnistSplit,
  type MnistSplitOptions,
  MNIST_ROWS,
  MNIST_COLS,
  loadMnist,
  mnistSplit,
} from './mnist.js';
export {
  type IdxArray,
  type IdxData,
  type IdxDtype,
  type IdxDatasetOptions,
  type IdxSplit,
  encodeIdx,
  loadIdxDataset,
  parseIdx,
  readIdx,
} from './idx.js';
