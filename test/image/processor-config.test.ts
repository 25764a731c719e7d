import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ImageProcessorConfigError } from '../../src/image/errors.js';
import { parseImageProcessorConfig } from '../../src/image/processor-config.js';
import { fixturePath } from '../helpers/fixtures.js';

const json = (dir: string) => JSON.parse(readFileSync(fixturePath(dir, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>;

test('the CLIP fixture: bicubic to a 32 shortest edge, 32×32 crop, OpenAI mean and std', () => {
  assert.deepEqual(parseImageProcessorConfig(json('clip-tiny')), {
    type: 'CLIPImageProcessor',
    resize: { rule: { kind: 'shortest-edge', shortestEdge: 32 }, resample: 'bicubic' },
    centerCrop: { height: 32, width: 32 },
    rescaleFactor: 0.00392156862745098,
    normalize: { mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
  });
});

test('the ViT fixture: bilinear to 32×32, no crop, mean and std 0.5', () => {
  const c = parseImageProcessorConfig(json('vit-gpt2-tiny'));
  assert.deepEqual(c.resize, { rule: { kind: 'fixed', height: 32, width: 32 }, resample: 'bilinear' });
  assert.equal(c.centerCrop, undefined);
  assert.deepEqual(c.normalize, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
});

test("keys left out take the class's defaults; an int size is a shortest edge for CLIP and a square for ViT", () => {
  const clip = parseImageProcessorConfig({ image_processor_type: 'CLIPImageProcessor', size: 224 });
  assert.deepEqual(clip.resize, { rule: { kind: 'shortest-edge', shortestEdge: 224 }, resample: 'bicubic' });
  assert.deepEqual(clip.centerCrop, { height: 224, width: 224 });
  const vit = parseImageProcessorConfig({ image_processor_type: 'ViTImageProcessor', size: 64, do_normalize: false, do_rescale: false });
  assert.deepEqual(vit.resize, { rule: { kind: 'fixed', height: 64, width: 64 }, resample: 'bilinear' });
  assert.equal(vit.normalize, undefined);
  assert.equal(vit.rescaleFactor, undefined);
  assert.deepEqual(parseImageProcessorConfig({ feature_extractor_type: 'CLIPFeatureExtractor', crop_size: 200 }).centerCrop, { height: 200, width: 200 });
});

const rejects = (config: Record<string, unknown>, key: string, words: RegExp) =>
  assert.throws(() => parseImageProcessorConfig(config, 'm/preprocessor_config.json'), (e: unknown) => e instanceof ImageProcessorConfigError && e.key === key && words.test(e.message));

test('an unknown resample is an error naming the key, the value and the filters there are', () => {
  rejects({ resample: 7 }, 'resample', /^m\/preprocessor_config\.json: "resample" = 7 is not a PIL resampling filter \(known: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming\)/);
  rejects({ resample: 'bicubic' }, 'resample', /= "bicubic" is not a PIL resampling filter/);
});

test('other bad values are errors naming their key', () => {
  rejects({ image_processor_type: 'SiglipImageProcessor' }, 'image_processor_type', /"SiglipImageProcessor" is not a processor Forja follows \(supported: CLIPImageProcessor/);
  rejects({ size: { longest_edge: 10 } }, 'size', /must be \{"shortest_edge"\}, \{"height", "width"\} or an integer/);
  rejects({ size: { shortest_edge: 0 } }, 'size.shortest_edge', /positive integer, received 0/);
  rejects({ size: { shortest_edge: 10, longest_edge: 20 } }, 'size', /both shortest_edge and longest_edge/);
  rejects({ crop_size: { height: 10 } }, 'crop_size', /must be an integer or/);
  rejects({ image_mean: [0.5, 0.5] }, 'image_mean', /3 finite numbers/);
  rejects({ image_std: [0.5, 0, 0.5] }, 'image_std', /none of them 0/);
  rejects({ rescale_factor: -1 }, 'rescale_factor', /positive number/);
  rejects({ do_resize: 'yes' }, 'do_resize', /true or false/);
});
