/**
 * ContrastiveTask on bert-tiny-embed: the step's loss is MultipleNegativesRankingLoss of the embedder's
 * own embeddings (prefixes, truncation, pooling and Normalize included), training lowers it, and a run
 * resumed from a checkpoint ends on the same weights as one that was not interrupted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { rankingLossReference } from '../../../../src/models/bert/contrastive/loss.js';
import { pairsData, type ContrastivePair } from '../../../../src/models/bert/contrastive/pairs.js';
import { ContrastiveTask } from '../../../../src/models/bert/contrastive/task.js';
import { loadSentenceEmbedder } from '../../../../src/models/bert/embedder.js';
import { ConfigError } from '../../../../src/models/transformer/config.js';
import { Trainer } from '../../../../src/train/trainer.js';
import { fixturePath } from '../../../helpers/fixtures.js';

const DIR = fixturePath('bert-tiny-embed');
const tmp = mkdtempSync(join(tmpdir(), 'forja-contrastive-task-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const TOPICS = [
  'cats purr when they are content and sleep in the sun',
  'dogs bark at strangers and guard the house at night',
  'proteins fold into shapes that decide what they do in the cell',
  'vaccines train the immune system to recognise a virus',
  'galaxies hold billions of stars bound by gravity',
  'rain falls mainly on the plain in spain during the winter months',
  'bread rises because yeast turns sugar into gas',
  'rivers carry sediment from the mountains to the sea',
];
// The last passage is long, so that truncation to maxLength is exercised.
const PAIRS: ContrastivePair[] = TOPICS.map((t, i) => ({
  queryId: `q${i}`,
  passageId: `d${i}`,
  query: t.split(' ').slice(0, 3).join(' '),
  passage: i === TOPICS.length - 1 ? `${t}. ${TOPICS.join('. ')}` : t,
}));
const PREFIXES = { query: 'query: ', passage: 'passage: ' };
const MAX = 24;

describe('ContrastiveTask', () => {
  for (const symmetric of [false, true]) {
    test(`the step's loss is the ranking loss of the embedder's own embeddings (symmetric ${symmetric})`, async () => {
      // Same maxTokens as training, so the embedder truncates as the step does.
      const embedder = await loadSentenceEmbedder(DIR, { prefixes: PREFIXES, maxTokens: MAX });
      assert.ok(embedder.tokenize(PAIRS.at(-1)!.passage, 'passage').truncatedFrom! > MAX, 'the long passage is cut');
      const task = await ContrastiveTask.create(embedder, pairsData(PAIRS), { batchSize: 8, maxLength: MAX, symmetric, learningRate: 1e-3 });
      try {
        const batch = task.batchesOf(0)[0]!;
        assert.equal(batch.length, 8);
        const q = await embedder.embed(batch.map((i) => PAIRS[i]!.query), 'query');
        const p = await embedder.embed(batch.map((i) => PAIRS[i]!.passage), 'passage');
        const expected = rankingLossReference(q, p, { symmetric });
        // Both graphs run the same ops on the same weights, so unit embeddings agree to a few ulp
        // (~1e-7); the loss moves by at most 2·scale = 40 per unit of change in a cosine, so ≲ 1e-5.
        // A missing prefix, another truncation or pooling moves it by > 1e-2.
        const evaluated = await task.evaluateBatches([batch]);
        assert.ok(Math.abs(evaluated - expected) < 1e-5, `evaluated ${evaluated} vs hand ${expected}`);
        const { logs } = await task.trainStep({ epoch: 0, step: 0, globalStep: 0 });
        assert.ok(Math.abs(logs.loss! - expected) < 1e-5, `step loss ${logs.loss} vs hand ${expected}`);
        const withoutPrefix = rankingLossReference(await embedder.embed(batch.map((i) => PAIRS[i]!.query)), p, { symmetric });
        assert.ok(Math.abs(withoutPrefix - expected) > 1e-3, 'the prefix matters to the loss, so the check above can fail');
      } finally {
        await task.release();
      }
    });
  }

  test('a few steps lower the loss on a fixed set, and the embedder then embeds with the trained weights', async () => {
    const embedder = await loadSentenceEmbedder(DIR);
    const before = await embedder.embed([PAIRS[0]!.query], 'query');
    const task = await ContrastiveTask.create(embedder, pairsData(PAIRS), { batchSize: 4, epochs: 5, learningRate: 2e-3, warmupRatio: 0.2 });
    const fixed = [[0, 1, 2, 3], [4, 5, 6, 7]];
    const start = await task.evaluateBatches(fixed);
    const outcome = await new Trainer(task).run();
    const end = await task.evaluateBatches(fixed);
    await task.release();
    assert.equal(outcome.stepsHere, 10);
    assert.ok(end < 0.5 * start, `loss ${start} → ${end}`);
    const afterTraining = await embedder.embed([PAIRS[0]!.query], 'query');
    assert.ok(Math.max(...before[0]!.map((v, i) => Math.abs(v - afterTraining[0]![i]!))) > 1e-3, 'embed() sees the trained weights');
    await embedder.release();
  });

  test('a run resumed from its checkpoint ends on the same weights as an uninterrupted one', async () => {
    const settings = { batchSize: 3, epochs: 4, learningRate: 1e-3, seed: 9 };
    const weightsOf = (t: ContrastiveTask): Float32Array[] => t.trainable.map((v) => Float32Array.from(v.value));
    const whole = await ContrastiveTask.create(await loadSentenceEmbedder(DIR), pairsData(PAIRS), settings);
    await new Trainer(whole).run();
    const expected = weightsOf(whole);
    await whole.release();

    const ckpt = join(tmp, 'run.safetensors');
    const first = await ContrastiveTask.create(await loadSentenceEmbedder(DIR), pairsData(PAIRS), settings);
    let trainer: Trainer | undefined;
    const stopper = new Trainer(first, { callbacks: [{ setTrainer: (t) => void (trainer = t), onEpochEnd: (e) => void (e === 1 && (trainer!.stopTraining = true)) }] });
    await stopper.run();
    assert.equal(stopper.position.epoch, 2);
    await stopper.save(ckpt);
    await first.release();

    const second = await ContrastiveTask.create(await loadSentenceEmbedder(DIR), pairsData(PAIRS), settings);
    const resumed = new Trainer(second);
    const meta = await resumed.restore(ckpt);
    assert.equal(meta.kind, 'forja-contrastive');
    await resumed.run();
    const got = weightsOf(second);
    await second.release();
    got.forEach((w, i) => assert.deepEqual(w, expected[i], `weight ${i}`));
  });

  test('bad settings are named', async () => {
    const embedder = await loadSentenceEmbedder(DIR);
    await assert.rejects(ContrastiveTask.create(embedder, pairsData(PAIRS), { maxLength: 4096 }), (e: unknown) => e instanceof ConfigError && /maxLength must be at most the 128 tokens/.test(e.message));
    await assert.rejects(ContrastiveTask.create(embedder, pairsData(PAIRS), { batchSize: 0 }), /batchSize must be a positive integer, received 0/);
    await assert.rejects(ContrastiveTask.create(embedder, pairsData([])), /no training pairs/);
  });
});
