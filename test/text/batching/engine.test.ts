/**
 * The continuous-batching engine on the tiny GPT-2 and Llama checkpoints: each request's tokens
 * match generate() run on its prompt alone, whatever joins or leaves the batch around it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { loadLoraAdapter } from '../../../src/models/lora/peft-io.js';
import { AdapterSwitch } from '../../../src/models/lora/switch.js';
import {
  ContextLengthError,
  createBatchEngine,
  EngineClosedError,
  InvalidRequestError,
  QueueFullError,
  UnknownModelError,
  type EngineModel,
  type SequenceHandle,
  type SequenceRequest,
  type TokenEvent,
} from '../../../src/text/batching/index.js';
import { generate } from '../../../src/text/generate.js';
import { offsetting } from '../../../src/text/logits-processors.js';
import type { LanguageModel } from '../../../src/text/language-model.js';
import { logSoftmax } from '../../../src/text/sampling.js';
import { Tokenizer } from '../../../src/text/tokenizer.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { ADAPTER_DIR, gpt2Tiny } from '../../models/lora/helpers.js';

function randomPrompt(rng: Rng, length: number, vocab: number): number[] {
  return Array.from({ length }, () => rng.int(vocab));
}

async function load(name: string): Promise<EngineModel & { lm: CausalLM }> {
  const [lm, tokenizer] = await Promise.all([CausalLM.load(fixturePath(name)), Tokenizer.fromDir(fixturePath(name))]);
  return { lm, decode: (ids) => tokenizer.decode(ids) };
}

/** Collect a handle's events while it runs; `onEvent` sees each event's index. */
async function drain(handle: SequenceHandle, onEvent?: (i: number, e: TokenEvent) => void): Promise<TokenEvent[]> {
  const events: TokenEvent[] = [];
  for await (const e of handle) {
    onEvent?.(events.length, e);
    events.push(e);
  }
  return events;
}

async function greedyAlone(lm: LanguageModel, prompt: number[], n: number): Promise<number[]> {
  return (await generate(lm, [prompt], { max_new_tokens: n, do_sample: false })).newTokens[0]!;
}

/** Full forward (no cache) of one row: its last position's logits. */
async function lastLogits(lm: LanguageModel, ids: readonly number[]): Promise<Float32Array> {
  const big = (xs: readonly number[]) => BigInt64Array.from(xs, (x) => BigInt(x));
  const out = await lm.forward({ ids: big(ids), batch: 1, attentionMask: big(ids.map(() => 1)), positionIds: big(ids.map((_, i) => i)) });
  return out.logits;
}

for (const fixture of ['gpt2-tiny', 'llama-tiny']) {
  describe(`batch engine (${fixture})`, () => {
    let model: EngineModel & { lm: CausalLM };
    before(async () => {
      model = await load(fixture);
    });
    after(() => model.lm.release());

    test('greedy rows joining at different steps each equal generate() on their prompt alone', async () => {
      const rng = new Rng(11);
      const vocab = model.lm.vocabSize;
      const prompts = [3, 9, 1, 14, 6].map((n) => randomPrompt(rng, n, vocab));
      const news = [12, 7, 15, 5, 9];
      const engine = createBatchEngine({ m: model }, { maxBatch: 4 });
      const request = (i: number): SequenceRequest => ({ promptIds: prompts[i]!, maxNewTokens: news[i]!, sampling: { temperature: 0 } });
      const handles = [engine.submit(request(0)), engine.submit(request(1))];
      // Prompt 2 joins after row 0's third token, 3 and 4 after its sixth (4 waits for a free slot).
      const first = drain(handles[0]!, (i) => {
        if (i === 2) handles.push(engine.submit(request(2)));
        if (i === 5) handles.push(engine.submit(request(3)), engine.submit(request(4)));
      });
      await first;
      const results = await Promise.all(handles.map((h) => h.result));
      for (let i = 0; i < prompts.length; i++) {
        assert.deepEqual(results[i]!.tokens, await greedyAlone(model.lm, prompts[i]!, news[i]!), `prompt ${i}`);
        assert.equal(results[i]!.finishReason, 'length');
        assert.equal(results[i]!.completionTokens, news[i]);
        assert.equal(results[i]!.interTokenMs.length, news[i]! - 1);
        assert.ok(results[i]!.timeToFirstTokenMs >= 0);
      }
      assert.deepEqual(engine.stats(), { running: 0, queued: 0, batches: { m: 0 } });
      await engine.close();
    });

    test('a seeded sampled request gives the same tokens alone, inside a busy batch, and as generate()', async () => {
      const rng = new Rng(5);
      const vocab = model.lm.vocabSize;
      const prompt = randomPrompt(rng, 6, vocab);
      const sampled: SequenceRequest = { promptIds: prompt, maxNewTokens: 20, sampling: { temperature: 0.8, top_p: 0.9, seed: 1234 } };
      const engine = createBatchEngine({ m: model });
      const alone = await engine.submit(sampled).result;
      const others = [2, 11, 4].map((n, i) => engine.submit({ promptIds: randomPrompt(rng, n, vocab), maxNewTokens: 10 + 3 * i, sampling: { temperature: 1, seed: i } }));
      const busy = engine.submit(sampled);
      const greedy = engine.submit({ promptIds: randomPrompt(rng, 8, vocab), maxNewTokens: 25, sampling: { temperature: 0 } });
      const [inBatch] = await Promise.all([busy.result, greedy.result, ...others.map((h) => h.result)]);
      assert.deepEqual(inBatch.tokens, alone.tokens);
      const reference = await generate(model.lm, [prompt], { max_new_tokens: 20, do_sample: true, temperature: 0.8, top_p: 0.9, top_k: 0, seed: 1234 });
      assert.deepEqual(alone.tokens, reference.newTokens[0]);
      await engine.close();
    });

    test('a seeded request without top-p is drawn inside the model: the same alone and in a busy batch, each draw the float64 inverse CDF at its uniform', async () => {
      const rng = new Rng(8);
      const vocab = model.lm.vocabSize;
      const prompt = randomPrompt(rng, 5, vocab);
      // logit_bias as the server builds it: a ban and a boost, both folded into the model's bias.
      const bias = new Map([[prompt[0]!, -Infinity], [7, 1.5]]);
      const request: SequenceRequest = { promptIds: prompt, maxNewTokens: 16, sampling: { temperature: 0.9, seed: 77 }, logitsProcessors: [offsetting(bias)] };
      const engine = createBatchEngine({ m: model });
      const alone = await engine.submit(request).result;
      const others = [3, 9].map((n, i) => engine.submit({ promptIds: randomPrompt(rng, n, vocab), maxNewTokens: 12, sampling: { temperature: 1, seed: 10 + i } }));
      const logprobRow = engine.submit({ promptIds: randomPrompt(rng, 4, vocab), maxNewTokens: 12, sampling: { temperature: 1, seed: 3 }, topLogprobs: 2 });
      const [inBatch] = await Promise.all([engine.submit(request).result, logprobRow.result, ...others.map((h) => h.result)]);
      assert.deepEqual(inBatch.tokens, alone.tokens);
      await engine.close();
      const draws = new Rng(77);
      const tokens = [...prompt];
      let compared = 0;
      for (const token of alone.tokens) {
        const scores = Array.from(await lastLogits(model.lm, tokens), (x, id) => (x + (bias.get(id) ?? 0)) / 0.9);
        const max = Math.max(...scores);
        const weights = scores.map((x) => Math.exp(x - max));
        const total = weights.reduce((a, b) => a + b, 0);
        const target = draws.next() * total;
        let acc = 0;
        let expected = -1;
        let margin = 0;
        for (let i = 0; i < weights.length && expected < 0; i++) {
          if (target < acc + weights[i]!) [expected, margin] = [i, Math.min(target - acc, acc + weights[i]! - target) / total];
          acc += weights[i]!;
        }
        assert.notEqual(token, prompt[0], 'the banned token is never drawn');
        // The float32 softmax in the model moves a boundary by ~1e-7 of the total; draws that close are not compared.
        if (margin > 1e-6) {
          assert.equal(token, expected, `draw ${compared}`);
          compared++;
        }
        tokens.push(token);
      }
      assert.ok(compared >= 12, `compared ${compared} of 16 draws`);
    });

    test('presence and frequency penalties follow OpenAI: logits minus presence once and frequency per count of generated tokens', async () => {
      const prompt = [5, 17, 42];
      const engine = createBatchEngine({ m: model });
      const penalised = await engine.submit({ promptIds: prompt, maxNewTokens: 8, sampling: { temperature: 0, presence_penalty: 0.7, frequency_penalty: 1.5 } }).result;
      const tokens = [...prompt];
      const counts = new Map<number, number>();
      for (let i = 0; i < 8; i++) {
        const scores = await lastLogits(model.lm, tokens);
        for (const [t, c] of counts) scores[t]! -= 0.7 + 1.5 * c;
        let best = 0;
        for (let j = 1; j < scores.length; j++) if (scores[j]! > scores[best]!) best = j;
        tokens.push(best);
        counts.set(best, (counts.get(best) ?? 0) + 1);
      }
      assert.deepEqual(penalised.tokens, tokens.slice(prompt.length));
      await engine.close();
    });

    test('logprobs are the log-softmax of a plain forward of prompt and tokens so far, with the top alternatives', async () => {
      const rng = new Rng(3);
      const prompt = randomPrompt(rng, 5, model.lm.vocabSize);
      const engine = createBatchEngine({ m: model });
      const other = engine.submit({ promptIds: randomPrompt(rng, 12, model.lm.vocabSize), maxNewTokens: 6 });
      const handle = engine.submit({ promptIds: prompt, maxNewTokens: 4, topLogprobs: 3, sampling: { temperature: 0.7, seed: 9 } });
      const events = await drain(handle);
      await other.result;
      const seen = [...prompt];
      for (const e of events) {
        const ls = logSoftmax(await lastLogits(model.lm, seen));
        assert.ok(Math.abs(e.logprob - ls[e.token]!) < 1e-5, `logprob ${e.logprob} vs ${ls[e.token]}`);
        const order = [...ls.keys()].sort((a, b) => ls[b]! - ls[a]!).slice(0, 3);
        assert.deepEqual(e.top!.map((t) => t.token), order);
        e.top!.forEach((t) => assert.ok(Math.abs(t.logprob - ls[t.token]!) < 1e-5));
        assert.equal(e.top![0]!.text, model.decode([order[0]!]));
        seen.push(e.token);
      }
      const plain = await engine.submit({ promptIds: prompt, maxNewTokens: 1 }).result;
      assert.equal(plain.tokens.length, 1);
      await engine.close();
    });
  });
}

describe('batch engine: lifecycle, limits and text', () => {
  let model: EngineModel & { lm: CausalLM };
  before(async () => {
    model = await load('gpt2-tiny');
  });
  after(() => model.lm.release());

  test('cancel mid-stream ends that sequence as cancelled and frees its slot for a queued one; the others continue', async () => {
    const engine = createBatchEngine({ m: model }, { maxBatch: 2 });
    const long = (p: number[]): SequenceRequest => ({ promptIds: p, maxNewTokens: 30, sampling: { temperature: 0 } });
    const a = engine.submit(long([1, 2, 3]));
    const b = engine.submit(long([4, 5]));
    const c = engine.submit({ promptIds: [7, 8, 9, 10], maxNewTokens: 5, sampling: { temperature: 0 } });
    const events = await drain(a, (i) => {
      if (i === 0) assert.deepEqual(engine.stats(), { running: 2, queued: 1, batches: { m: 2 } });
      if (i === 3) a.cancel();
    });
    const ra = await a.result;
    assert.equal(ra.finishReason, 'cancelled');
    assert.equal(ra.tokens.length, events.length);
    assert.ok(events.length >= 4 && events.length < 30, `${events.length} events`);
    const [rb, rc] = await Promise.all([b.result, c.result]);
    assert.equal(rb.finishReason, 'length');
    assert.equal(rb.tokens.length, 30);
    assert.deepEqual(rc.tokens, await greedyAlone(model.lm, [7, 8, 9, 10], 5));
    assert.deepEqual(engine.stats(), { running: 0, queued: 0, batches: { m: 0 } });
    await engine.close();
  });

  /** The tiny model, recording each prefill's [rows, width]. */
  function prefillSpy(prefills: number[][]): LanguageModel {
    const lm = model.lm;
    return {
      vocabSize: lm.vocabSize,
      maxPositions: lm.maxPositions,
      forward: (input) => {
        if (!input.cache) prefills.push([input.batch, input.ids.length / input.batch]);
        return lm.forward(input);
      },
      selectCache: (c, rows) => lm.selectCache(c, rows),
      concatCaches: (cs) => lm.concatCaches(cs),
      trimCache: (c, start) => lm.trimCache(c, start),
    };
  }

  test('maxPrefillTokens splits a burst of joiners over steps; each still matches generate()', async () => {
    const prefills: number[][] = [];
    const lm = model.lm;
    const engine = createBatchEngine({ m: { lm: prefillSpy(prefills), decode: model.decode } }, { maxPrefillTokens: 10 });
    const prompts = [[1, 2, 3, 4], [5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]];
    const results = await Promise.all(prompts.map((p) => engine.submit({ promptIds: p, maxNewTokens: 6, sampling: { temperature: 0 } }).result));
    // 2 × 4 fits in 10, a third row would not; a 12-token prompt alone exceeds the budget but always joins.
    assert.deepEqual(prefills, [[2, 4], [1, 4], [1, 12]]);
    for (const [i, p] of prompts.entries()) assert.deepEqual(results[i]!.tokens, await greedyAlone(lm, p, 6), `prompt ${i}`);
    await engine.close();
  });

  test('an idle engine waits for a burst to end (admissionWindowMs with no new request): requests 30 ms apart share one prefill', async () => {
    const prefills: number[][] = [];
    const engine = createBatchEngine({ m: { lm: prefillSpy(prefills), decode: model.decode } }, { admissionWindowMs: 50 });
    const prompts = [[1, 2, 3], [4, 5], [6]];
    const handles: SequenceHandle[] = [];
    for (const [i, p] of prompts.entries()) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 30));
      handles.push(engine.submit({ promptIds: p, maxNewTokens: 4, sampling: { temperature: 0 } }));
    }
    const results = await Promise.all(handles.map((h) => h.result));
    // 60 ms from first to last: past one window, but each arrived within a window of the one before.
    assert.deepEqual(prefills, [[3, 3]]);
    for (const [i, p] of prompts.entries()) assert.deepEqual(results[i]!.tokens, await greedyAlone(model.lm, p, 4), `prompt ${i}`);
    await engine.close();
    assert.throws(() => createBatchEngine({ m: model }, { admissionWindowMs: -1 }), (e: unknown) => e instanceof InvalidRequestError && e.field === 'admissionWindowMs');
  });

  test('an aborted signal cancels, before and while running', async () => {
    const engine = createBatchEngine({ m: model });
    const early = engine.submit({ promptIds: [1], maxNewTokens: 10, signal: AbortSignal.abort() });
    assert.equal((await early.result).finishReason, 'cancelled');
    const controller = new AbortController();
    const running = engine.submit({ promptIds: [1, 2], maxNewTokens: 50, signal: controller.signal });
    await drain(running, (i) => i === 1 && controller.abort());
    const result = await running.result;
    assert.equal(result.finishReason, 'cancelled');
    assert.ok(result.tokens.length < 50);
    await engine.close();
  });

  test('a full queue refuses with QueueFullError; close() without drain cancels the rest and refuses new submits', async () => {
    const engine = createBatchEngine({ m: model }, { maxBatch: 1, maxQueue: 1 });
    const a = engine.submit({ promptIds: [1, 2], maxNewTokens: 20 });
    const b = engine.submit({ promptIds: [3], maxNewTokens: 20 });
    assert.throws(() => engine.submit({ promptIds: [4], maxNewTokens: 2 }), (e: unknown) => e instanceof QueueFullError && e.maxQueue === 1);
    await engine.close();
    const [ra, rb] = await Promise.all([a.result, b.result]);
    assert.equal(rb.finishReason, 'cancelled');
    assert.equal(rb.tokens.length, 0);
    assert.ok(ra.finishReason === 'cancelled' && ra.tokens.length < 20);
    assert.throws(() => engine.submit({ promptIds: [4], maxNewTokens: 2 }), EngineClosedError);
  });

  test('close({ drain: true }) finishes what is running and queued', async () => {
    const engine = createBatchEngine({ m: model }, { maxBatch: 1 });
    const handles = [engine.submit({ promptIds: [1], maxNewTokens: 4 }), engine.submit({ promptIds: [2, 3], maxNewTokens: 3 })];
    await engine.close({ drain: true });
    const results = await Promise.all(handles.map((h) => h.result));
    assert.deepEqual(results.map((r) => [r.finishReason, r.tokens.length]), [['length', 4], ['length', 3]]);
  });

  test('bad requests: context too long, unknown model, out-of-range fields', () => {
    const engine = createBatchEngine({ m: model });
    const prompt = new Array<number>(100).fill(5);
    assert.throws(
      () => engine.submit({ promptIds: prompt, maxNewTokens: 29 }),
      (e: unknown) => e instanceof ContextLengthError && e.promptTokens === 100 && e.maxNewTokens === 29 && e.contextSize === 128 && /100.*29.*128/.test(e.message),
    );
    assert.equal(engine.stats().queued, 0);
    engine.submit({ promptIds: prompt, maxNewTokens: 28 }).cancel();
    assert.throws(() => engine.submit({ promptIds: [1], maxNewTokens: 1, model: 'nope' }), (e: unknown) => e instanceof UnknownModelError && /nope.*m/.test(e.message));
    assert.throws(() => engine.submit({ promptIds: [1], maxNewTokens: 1, sampling: { top_p: 0 } }), (e: unknown) => e instanceof InvalidRequestError && e.field === 'top_p');
    assert.throws(() => engine.submit({ promptIds: [1e9], maxNewTokens: 1 }), (e: unknown) => e instanceof InvalidRequestError && e.field === 'promptIds');
    assert.throws(() => engine.submit({ promptIds: [1], maxNewTokens: 0 }), (e: unknown) => e instanceof InvalidRequestError && e.field === 'maxNewTokens');
    return engine.close();
  });

  test('stop strings end the sequence and are cut from the text; the deltas add up to the text', async () => {
    const engine = createBatchEngine({ m: model });
    const prompt = [464, 3290, 318];
    const full = await engine.submit({ promptIds: prompt, maxNewTokens: 30, sampling: { temperature: 0 } }).result;
    assert.ok(full.text.length > 12, `greedy text too short to cut: ${JSON.stringify(full.text)}`);
    const stop = full.text.slice(8, 11);
    const cut = full.text.indexOf(stop);
    const handle = engine.submit({ promptIds: prompt, maxNewTokens: 30, sampling: { temperature: 0 }, stopStrings: ['never-produced', stop] });
    const events = await drain(handle);
    const result = await handle.result;
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.text, full.text.slice(0, cut));
    assert.equal(events.map((e) => e.delta).join(''), result.text);
    assert.deepEqual(result.tokens, full.tokens.slice(0, result.tokens.length));
    assert.ok(result.tokens.length < 30);
    // A stop token ends the sequence; its text is not part of the answer.
    const stopAt = full.tokens.findIndex((t, i) => i >= 2 && full.tokens.indexOf(t) === i);
    const byToken = await engine.submit({ promptIds: prompt, maxNewTokens: 30, sampling: { temperature: 0 }, stopTokenIds: [full.tokens[stopAt]!] }).result;
    assert.deepEqual(byToken.tokens, full.tokens.slice(0, stopAt + 1));
    assert.equal(byToken.finishReason, 'stop');
    assert.equal(byToken.text, model.decode(full.tokens.slice(0, stopAt)));
    await engine.close();
  });
});

describe('batch engine: several models', () => {
  let gpt2: EngineModel & { lm: CausalLM };
  let llama: EngineModel & { lm: CausalLM };
  before(async () => {
    [gpt2, llama] = await Promise.all([load('gpt2-tiny'), load('llama-tiny')]);
  });
  after(async () => {
    await gpt2.lm.release();
    await llama.lm.release();
  });

  test('one batch per model, stepped in turn; each request still matches generate()', async () => {
    const engine = createBatchEngine(new Map([['gpt2', gpt2], ['llama', llama]]));
    const rng = new Rng(8);
    const jobs = [
      { model: 'gpt2', lm: gpt2.lm, prompt: randomPrompt(rng, 4, gpt2.lm.vocabSize), n: 9 },
      { model: 'llama', lm: llama.lm, prompt: randomPrompt(rng, 7, llama.lm.vocabSize), n: 11 },
      { model: 'gpt2', lm: gpt2.lm, prompt: randomPrompt(rng, 2, gpt2.lm.vocabSize), n: 6 },
      { model: 'llama', lm: llama.lm, prompt: randomPrompt(rng, 3, llama.lm.vocabSize), n: 8 },
    ];
    const handles = jobs.map((j) => engine.submit({ model: j.model, promptIds: j.prompt, maxNewTokens: j.n, sampling: { temperature: 0 } }));
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    const stats = engine.stats();
    assert.equal(stats.running + stats.queued, 4);
    const results = await Promise.all(handles.map((h) => h.result));
    for (const [i, j] of jobs.entries()) assert.deepEqual(results[i]!.tokens, await greedyAlone(j.lm, j.prompt, j.n), `job ${i}`);
    await engine.close();
  });
});

describe('batch engine: LoRA adapters on one session', () => {
  let sw: AdapterSwitch;
  let decode: (ids: readonly number[]) => string;
  before(async () => {
    const base = (await gpt2Tiny()).model;
    sw = await AdapterSwitch.create(base, { peft: await loadLoraAdapter(ADAPTER_DIR, base) });
    const tokenizer = await Tokenizer.fromDir(fixturePath('gpt2-tiny'));
    decode = (ids) => tokenizer.decode([...ids]);
  });
  after(() => sw?.release());

  test('the base and base:adapter batches interleave on the switch, each joining mid-flight as generate() alone', async () => {
    const base = sw.model(null);
    const adapted = sw.model('peft');
    const engine = createBatchEngine({ gpt2: { lm: base, decode }, 'gpt2:peft': { lm: adapted, decode } });
    const rng = new Rng(21);
    const prompts = [5, 2, 8, 3].map((n) => randomPrompt(rng, n, base.vocabSize));
    const models = ['gpt2', 'gpt2:peft', 'gpt2:peft', 'gpt2'];
    const submit = (i: number) => engine.submit({ model: models[i], promptIds: prompts[i]!, maxNewTokens: 8, sampling: { temperature: 0 } });
    const handles = [submit(0), submit(1)];
    await drain(handles[0]!, (i) => i === 2 && handles.push(submit(2), submit(3)));
    const results = await Promise.all(handles.map((h) => h.result));
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(results[i]!.tokens, await greedyAlone(models[i] === 'gpt2' ? base : adapted, prompts[i]!, 8), `request ${i} (${models[i]})`);
    }
    assert.notDeepEqual(await greedyAlone(base, prompts[1]!, 8), await greedyAlone(adapted, prompts[1]!, 8));
    await engine.close();
  });
});
