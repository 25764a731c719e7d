import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { loadHfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { loadF32 } from '../../../src/io/safetensors.js';
import { Whisper } from '../../../src/models/whisper/model.js';
import { WhisperSession } from '../../../src/models/whisper/session.js';
import type { EncodedBatch } from '../../../src/models/encoder-decoder/session.js';
import { generate } from '../../../src/text/generate.js';
import { fixturePath } from '../../helpers/fixtures.js';

const DIR = fixturePath('whisper-tiny-random');
const golden = JSON.parse(readFileSync(`${DIR}/golden.json`, 'utf8')) as { decoder_input_ids: number[][]; greedy_ids: number[][] };
const int64 = (xs: readonly number[]): BigInt64Array => BigInt64Array.from(xs, (x) => BigInt(x));

describe('models/whisper/session', () => {
  let session: WhisperSession;
  let features: Float32Array;
  let logits: Float32Array;
  let encoded: EncodedBatch;

  before(async () => {
    const ckpt = await loadHfCheckpoint(DIR);
    session = await WhisperSession.compile(Whisper.fromCheckpoint(ckpt.config, ckpt.weights));
    const g = await loadF32(`${DIR}/golden.safetensors`);
    features = g.get('input_features')!.data;
    logits = g.get('logits')!.data;
    encoded = await session.encode(features, 1);
  });
  after(() => session.release());

  it("decoder logits for (start, language, task, no-timestamps) match transformers'", async () => {
    const ids = golden.decoder_input_ids[0]!;
    const out = await session.decoderFor(encoded).forward({ ids: int64(ids), batch: 1, attentionMask: int64(ids.map(() => 1)), positionIds: int64(ids.map((_, i) => i)), allLogits: true });
    assert.equal(out.logits.length, logits.length);
    let max = 0;
    for (let i = 0; i < logits.length; i++) max = Math.max(max, Math.abs(out.logits[i]! - logits[i]!));
    // float32 through 2+2 layers and a 51865-way head with |logit| ≤ 8.1: measured 3.8e-5.
    assert.ok(max < 2e-4, `max abs logit difference ${max}`);
  });

  it('prefill then cached single steps give the logits of one full pass', async () => {
    const ids = [...golden.decoder_input_ids[0]!, 440, 1000];
    const decoder = session.decoderFor(encoded);
    const full = await decoder.forward({ ids: int64(ids), batch: 1, attentionMask: int64(ids.map(() => 1)), positionIds: int64(ids.map((_, i) => i)), allLogits: true });
    let step = await decoder.forward({ ids: int64(ids.slice(0, 4)), batch: 1, attentionMask: int64([1, 1, 1, 1]), positionIds: int64([0, 1, 2, 3]) });
    for (let t = 4; t < ids.length; t++) {
      step = await decoder.forward({ ids: int64([ids[t]!]), batch: 1, attentionMask: int64(ids.slice(0, t + 1).map(() => 1)), positionIds: int64([t]), cache: step.cache });
    }
    const vocab = decoder.vocabSize;
    const last = full.logits.subarray((ids.length - 1) * vocab);
    let max = 0;
    for (let v = 0; v < vocab; v++) max = Math.max(max, Math.abs(last[v]! - step.logits[v]!));
    assert.ok(max < 1e-4, `cached vs full: ${max}`);
  });

  it("greedy decoding reproduces the fixture's greedy_ids", async () => {
    const out = await generate(session.decoderFor(encoded), golden.decoder_input_ids, { max_new_tokens: golden.greedy_ids[0]!.length - 4 });
    assert.deepEqual(out.sequences[0], golden.greedy_ids[0]);
  });

  it('a batch of two windows decodes each row as alone; beams reorder rows without mixing windows', async () => {
    const silence = new Float32Array(features.length).fill(-0.5);
    const two = new Float32Array(2 * features.length);
    two.set(features);
    two.set(silence, features.length);
    const pair = await session.encode(two, 2);
    const prompt = golden.decoder_input_ids[0]!;
    const both = await generate(session.decoderFor(pair), [prompt, prompt], { max_new_tokens: 6 });
    assert.deepEqual(both.sequences[0], golden.greedy_ids[0]!.slice(0, 10));
    const alone = await generate(session.decoderFor(await session.encode(silence, 1)), [prompt], { max_new_tokens: 6 });
    assert.deepEqual(both.sequences[1], alone.sequences[0]);
    const beams = await generate(session.decoderFor(pair), [prompt, prompt], { max_new_tokens: 6, num_beams: 3 });
    const beamAlone = await generate(session.decoderFor(await session.encode(silence, 1)), [prompt], { max_new_tokens: 6, num_beams: 3 });
    assert.deepEqual(beams.sequences[1], beamAlone.sequences[0]);
  });

  it('refuses features of the wrong size and prompts past the context', async () => {
    await assert.rejects(session.encode(new Float32Array(80 * 100), 1), /input_features must be \[1, 80, 3000\]/);
    const decoder = session.decoderFor(encoded);
    const long = Array.from({ length: 65 }, () => 50258);
    await assert.rejects(decoder.forward({ ids: int64(long), batch: 1, attentionMask: int64(long.map(() => 1)), positionIds: int64(long.map((_, i) => i)) }), /65 positions exceed the decoder's maximum of 64/);
  });
});
