import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { loadHfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { Clip, clipInitialWeights, clipTensors, ProjectionMismatchError } from '../../../src/models/clip/model.js';
import { parseClipConfig } from '../../../src/models/clip/config.js';
import { WeightError, type CheckpointTensor } from '../../../src/models/transformer/weights.js';
import { CLIP_TINY } from './clip-tiny.js';

const ckpt = await loadHfCheckpoint(CLIP_TINY);

test('the fixture binds: every tensor named and shaped, F16 upcast, logit_scale read from the checkpoint', () => {
  assert.equal(ckpt.dtypes.get('logit_scale'), 'F16');
  const clip = Clip.fromCheckpoint(ckpt.config, ckpt.weights);
  assert.equal(clip.weights.size, clipTensors(clip.config).length);
  assert.equal(clip.weights.size, ckpt.weights.size);
  // F16 2.6592 is 2.658203125; exp of it is the temperature.
  assert.ok(Math.abs(clip.logitScale - Math.exp(ckpt.weights.get('logit_scale')!.data[0]!)) < 1e-12);
  assert.ok(Math.abs(clip.logitScale - 14.27) < 0.05);
  // Linear weights are kept [in, out].
  assert.deepEqual(clip.weights.get('text_projection.weight')!.shape, [32, 24]);
});

const withTensor = (name: string, t: CheckpointTensor) => new Map([...ckpt.weights, [name, t]]);
const rejects = (weights: ReadonlyMap<string, CheckpointTensor>, words: RegExp, config = ckpt.config) =>
  assert.throws(() => Clip.fromCheckpoint(config, weights, 'clip/config.json'), (e: unknown) => e instanceof ProjectionMismatchError && words.test(e.message));

test('a text projection of another size is refused, saying the two spaces differ', () => {
  rejects(withTensor('text_projection.weight', { shape: [16, 32], data: new Float32Array(16 * 32) }), /^clip\/config\.json: 'text_projection\.weight' has shape \[16, 32\], expected \[24, 32\]: text_projection maps to 16 dimensions and visual_projection to 24; text and image embeddings must share one space/);
});

test('projections that agree with each other but not with projection_dim are refused, naming projection_dim', () => {
  rejects(ckpt.weights, /'text_projection\.weight' has shape \[24, 32\], expected \[16, 32\]: both towers project to 24 dimensions but config\.json says projection_dim 16/, { ...ckpt.config, projection_dim: 16 });
});

test('a projection reading the wrong hidden size is refused, naming the tower', () => {
  rejects(withTensor('visual_projection.weight', { shape: [24, 48], data: new Float32Array(24 * 48) }), /'visual_projection\.weight' has shape \[24, 48\], expected \[24, 32\]: its input size must be the vision_config hidden_size 32/);
});

test('a missing or extra tensor is a WeightError naming it', () => {
  const missing = new Map(ckpt.weights);
  missing.delete('vision_model.post_layernorm.bias');
  assert.throws(() => Clip.fromCheckpoint(ckpt.config, missing), (e: unknown) => e instanceof WeightError && /no tensor 'vision_model\.post_layernorm\.bias'/.test(e.message));
  const extra = withTensor('text_model.embeddings.position_ids', { shape: [1, 32], data: new Float32Array(32) });
  assert.equal(Clip.fromCheckpoint(ckpt.config, extra).weights.size, ckpt.weights.size); // an old buffer, ignored
  assert.throws(() => Clip.fromCheckpoint(ckpt.config, withTensor('head.weight', { shape: [2], data: new Float32Array(2) })), /unexpected tensor in the checkpoint: 'head\.weight'/);
});

test('random initialisation is seeded and shaped like the checkpoint', () => {
  const config = parseClipConfig(ckpt.config);
  const a = clipInitialWeights(config, new Rng(3));
  const b = clipInitialWeights(config, new Rng(3));
  assert.deepEqual(a.get('text_model.encoder.layers.0.mlp.fc1.weight')!.data, b.get('text_model.encoder.layers.0.mlp.fc1.weight')!.data);
  for (const [name, t] of ckpt.weights) assert.deepEqual(a.get(name)!.shape, t.shape, name);
  assert.equal(a.get('vision_model.pre_layrnorm.weight')!.data[0], 1);
  assert.equal(a.get('logit_scale')!.data[0], Math.fround(config.logitScaleInit));
  assert.equal(Clip.init(ckpt.config, new Rng(1)).weights.size, ckpt.weights.size);
});
