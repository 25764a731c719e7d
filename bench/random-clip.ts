/** The vision benchmark's stand-in for openai/clip-vit-base-patch32: its shape and processor with seeded random weights. */
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/io/atomic.js';
import { elementCount } from '../src/core/shape.js';
import { writeSafetensorsCheckpoint, type TensorToWrite } from '../src/io/safetensors.js';
import { f32ToF16 } from '../src/io/safetensors/floats.js';
import { parseClipConfig } from '../src/models/clip/config.js';
import { visionGraph } from '../src/models/clip/graph.js';
import { clipTensors, type Clip } from '../src/models/clip/model.js';
import { emitModel } from '../src/onnx/emit.js';

/** openai/clip-vit-base-patch32's config.json, the fields Forja and transformers.js read. */
export const CLIP_BASE_CONFIG = {
  architectures: ['CLIPModel'],
  model_type: 'clip',
  projection_dim: 512,
  logit_scale_init_value: 2.6592,
  text_config: { model_type: 'clip_text_model', vocab_size: 49408, hidden_size: 512, intermediate_size: 2048, num_hidden_layers: 12, num_attention_heads: 8, max_position_embeddings: 77, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5, bos_token_id: 49406, eos_token_id: 49407, pad_token_id: 1 },
  vision_config: { model_type: 'clip_vision_model', hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12, image_size: 224, patch_size: 32, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5, num_channels: 3 },
  'transformers.js_config': { dtype: 'fp32' },
};

/** Its preprocessor_config.json. */
export const CLIP_BASE_PROCESSOR = {
  image_processor_type: 'CLIPImageProcessor',
  do_resize: true,
  size: { shortest_edge: 224 },
  resample: 3,
  do_center_crop: true,
  crop_size: { height: 224, width: 224 },
  do_rescale: true,
  rescale_factor: 1 / 255,
  do_normalize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
  do_convert_rgb: true,
};

/** Normal(0, std) draws as F16 bits, picked from a table (drawing 150M normals one by one takes half a minute). */
function randomF16(n: number, rng: Rng, table: Uint16Array): Uint16Array {
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = table[(rng.next() * table.length) | 0]!;
  return out;
}

/** Writes the model to `dir` as the hub holds CLIP checkpoints: F16 safetensors, config.json, preprocessor_config.json. */
export async function writeRandomClipBase(dir: string): Promise<void> {
  const config = parseClipConfig(CLIP_BASE_CONFIG);
  const rng = new Rng(8);
  const table = f32ToF16(Float32Array.from({ length: 1 << 16 }, () => 0.02 * rng.normal()));
  const [one, logitScale] = f32ToF16(Float32Array.of(1, config.logitScaleInit));
  const tensors = new Map<string, TensorToWrite>();
  for (const { name, shape } of clipTensors(config)) {
    const n = elementCount(shape);
    const data = name === 'logit_scale' ? Uint16Array.of(logitScale!) : /(norm\d?|layrnorm|layernorm)\.weight$/.test(name) ? new Uint16Array(n).fill(one!) : name.endsWith('.bias') ? new Uint16Array(n) : randomF16(n, rng, table);
    tensors.set(name, { shape, data, dtype: 'F16' });
  }
  await writeSafetensorsCheckpoint(dir, tensors);
  await writeJsonAtomic(join(dir, 'config.json'), CLIP_BASE_CONFIG);
  await writeJsonAtomic(join(dir, 'preprocessor_config.json'), CLIP_BASE_PROCESSOR);
}

/** onnx/vision_model.onnx for transformers.js: the vision tower of the model Forja loaded (float32, weights inside). */
export async function writeVisionOnnx(dir: string, model: Clip): Promise<void> {
  await writeFileAtomic(join(dir, 'onnx', 'vision_model.onnx'), emitModel(visionGraph(model)).bytes);
}

/** Parameters of the vision tower and its projection. */
export const visionParameters = (model: Clip): number =>
  [...model.weights].filter(([name]) => name.startsWith('vision_model.') || name === 'visual_projection.weight').reduce((n, [, v]) => n + v.value.length, 0);
