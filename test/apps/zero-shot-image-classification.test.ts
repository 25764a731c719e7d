import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pipeline } from '../../src/apps/pipeline.js';
import { DEFAULT_HYPOTHESIS_TEMPLATE, prompts } from '../../src/apps/zero-shot-image-classification.js';
import { ClipModel } from '../../src/models/clip/clip-model.js';
import { decodeCase } from '../image/fixtures/pil-goldens.js';
import { clipGoldens, clipTinyWithTokenizer, GOLDEN_TEXTS } from '../models/clip/clip-tiny.js';

const tmp = mkdtempSync(join(tmpdir(), 'forja-zero-shot-'));
const dir = clipTinyWithTokenizer(tmp);
const classifier = await pipeline('zero-shot-image-classification', dir);
after(async () => {
  await classifier.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const softmax = (row: Float32Array) => {
  const e = [...row].map((v) => Math.exp(v - Math.max(...row)));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

test('scores are the softmax of logits_per_image over the labels, best first (goldens, template "{}")', async () => {
  const g = await clipGoldens();
  const results = await classifier(g.pixelValues, GOLDEN_TEXTS, { hypothesis_template: '{}' });
  assert.equal(results.length, 3);
  results.forEach((ranked, i) => {
    const expected = softmax(g.logitsPerImage[i]!);
    assert.deepEqual(
      ranked.map((r) => r.label),
      GOLDEN_TEXTS.map((label, j) => ({ label, p: expected[j]! })).sort((a, b) => b.p - a.p).map((r) => r.label),
    );
    for (const { label, score } of ranked) assert.ok(Math.abs(score - expected[GOLDEN_TEXTS.indexOf(label)]!) < 2e-6);
    assert.ok(Math.abs(ranked.reduce((s, r) => s + r.score, 0) - 1) < 1e-6);
  });
});

test("the default template is transformers' and the label fills every {}", () => {
  assert.equal(DEFAULT_HYPOTHESIS_TEMPLATE, 'This is a photo of {}.');
  assert.deepEqual(prompts(['cat', 'dog']), [['This is a photo of cat.'], ['This is a photo of dog.']]);
  assert.deepEqual(prompts(['cat'], ['a photo of a {}', 'a {} or a {}']), [['a photo of a cat', 'a cat or a cat']]);
});

test('one image gives one ranking; a template list averages the prompts (an ensemble)', async () => {
  const path = join(tmp, 'cat.png');
  writeFileSync(path, decodeCase('png-rgb8').bytes);
  const single = await classifier(path, ['cat', 'dog', 'car'], { hypothesis_template: 'a photo of a {}' });
  assert.equal(single.length, 3);
  assert.deepEqual(new Set(single.map((r) => r.label)), new Set(['cat', 'dog', 'car']));
  assert.ok(single[0]!.score >= single[1]!.score && single[1]!.score >= single[2]!.score);
  const model = classifier.model as ClipModel;
  // The ensemble's text vector for a label is the normalised mean of its prompts' vectors.
  const [a, b] = await model.getTextEmbeddings(['a photo of a cat', 'this is a cat']);
  const mean = a!.map((v, j) => v + b![j]!);
  const n = Math.hypot(...mean);
  const [image] = await model.getImageEmbeddings([path]);
  const logit = (t: Float32Array, norm: number) => (model.model.logitScale * t.reduce((s, v, j) => s + v * image![j]!, 0)) / norm;
  const ensemble = await classifier(path, ['cat', 'dog'], { hypothesis_template: ['a photo of a {}', 'this is a {}'] });
  const [c, d] = await model.getTextEmbeddings(['a photo of a dog', 'this is a dog']);
  const dogMean = c!.map((v, j) => v + d![j]!);
  const expectedCat = 1 / (1 + Math.exp(logit(dogMean, Math.hypot(...dogMean)) - logit(mean, n)));
  assert.ok(Math.abs(ensemble.find((r) => r.label === 'cat')!.score - expectedCat) < 1e-5);
});

test('labels and templates are checked', async () => {
  await assert.rejects(classifier(join(tmp, 'cat.png'), []), /candidate labels must be a non-empty list/);
  await assert.rejects(classifier(join(tmp, 'cat.png'), ['cat'], { hypothesis_template: 'a photo' }), /hypothesis_template must be a string with "\{\}"/);
});
