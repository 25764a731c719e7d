/** VisionEncoderDecoderModel (ViT encoder + GPT-2 decoder with cross-attention): image captioning. */
export * from './model.js';
export * from './captioner.js';
export * from './export-onnx.js';
