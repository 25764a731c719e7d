/** Images: PNG and JPEG decoding to 8-bit RGB, Pillow's resampling, and the HF image processor. */
export { decodeImage, loadImage, probeImage, type ImageInput, type LoadImageOptions } from './decode.js';
export { ImageDecodeError, ImageProcessorConfigError, type ImageErrorCode } from './errors.js';
export { centerCrop, ImageProcessor, isRgbImage, PREPROCESSOR_CONFIG, resizedSize, type PixelValues, type ProcessorInput } from './processor.js';
export { parseImageProcessorConfig, SUPPORTED_PROCESSORS, type ImageProcessorConfig, type SizeRule } from './processor-config.js';
export { PIL_RESAMPLE, resize, type Resample } from './resize.js';
export { isImageEmbedder, type ImageEmbedder } from './embedder.js';
export { checkRgbImage, type DecodedImage, type ImageFormat, type RgbImage } from './types.js';
