import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseClipConfig } from '../../../src/models/clip/config.js';
import { ConfigError } from '../../../src/models/transformer/config.js';
import { CLIP_TINY } from './clip-tiny.js';

const json = JSON.parse(readFileSync(join(CLIP_TINY, 'config.json'), 'utf8')) as Record<string, unknown>;

test("the fixture's towers, with CLIP's vision options", () => {
  const c = parseClipConfig(json);
  assert.equal(c.projectionDim, 24);
  assert.deepEqual(
    { ...c.text },
    { vocabSize: 1000, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 64, maxPositions: 32, layerNormEps: 1e-5, activation: 'quick_gelu', eosTokenId: 999, padTokenId: 0 },
  );
  assert.deepEqual([c.vision.imageSize, c.vision.patchSize, c.vision.layers], [[32, 32], 8, 2]);
  assert.deepEqual([c.vision.preLayerNorm, c.vision.finalLayerNorm, c.vision.patchBias, c.vision.activation, c.vision.layerNormEps], [true, false, false, 'quick_gelu', 1e-5]);
});

test("keys left out take CLIPConfig's defaults (openai/clip-vit-base-patch32's shape)", () => {
  const c = parseClipConfig({ architectures: ['CLIPModel'] });
  assert.deepEqual([c.text.hiddenSize, c.text.layers, c.text.maxPositions, c.text.vocabSize, c.text.eosTokenId], [512, 12, 77, 49408, 2]);
  assert.deepEqual([c.vision.hiddenSize, c.vision.patchSize, c.vision.imageSize[0], c.projectionDim], [768, 32, 224, 512]);
});

test('another architecture or a bad value is a ConfigError naming it', () => {
  assert.throws(() => parseClipConfig({ architectures: ['SiglipModel'] }, 'm/config.json'), (e: unknown) => e instanceof ConfigError && /m\/config\.json: architecture "SiglipModel" is not a CLIP model/.test(e.message));
  assert.throws(() => parseClipConfig({ ...json, text_config: { hidden_act: 'mish' } }), /"text_config": "hidden_act" = "mish" is not supported/);
  assert.throws(() => parseClipConfig({ ...json, text_config: { eos_token_id: -1 } }), /"eos_token_id" must be a token id/);
  assert.throws(() => parseClipConfig({ ...json, vision_config: { image_size: 30, patch_size: 8 } }), /image_size 30×30 is not a multiple of patch_size 8/);
  assert.throws(() => parseClipConfig({ ...json, projection_dim: 0 }), /"projection_dim" must be a positive integer/);
});
