export {
  type ChannelLayout,
  type GridGeometry,
  type ImageGridOptions,
  type PngImage,
  type ReadPngOptions,
  gridGeometry,
  imageGridPng,
  readPng,
  writeImageGrid,
} from './image-grid.js';
export {
  type LossPlotOptions,
  type LossSeries,
  LossPlotter,
  lossPlotPng,
  lossPlotSpec,
  lossPlotSvg,
  writeLossCsv,
  writeLossPlot,
} from './loss-plot.js';
