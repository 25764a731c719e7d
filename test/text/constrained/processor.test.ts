/**
 * End to end: generate() on random-weight fixtures (whose unconstrained output is garbage) with the
 * JSON constraint as a logits processor; every finished output must parse and pass ajv.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { createBatchEngine } from '../../../src/text/batching/index.js';
import { generate } from '../../../src/text/generate.js';
import { Tokenizer } from '../../../src/text/tokenizer.js';
import { jsonConstraint, UnsupportedSchemaError } from '../../../src/text/constrained/index.js';
import type { LanguageModel } from '../../../src/text/language-model.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { TableLM } from '../../helpers/table-lm.js';
import { sentencePieceTokenizer } from './sentencepiece-tokenizer.js';

const SCHEMAS: Record<string, unknown> = {
  json_object: undefined,
  person: {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 8 },
      age: { type: 'integer' },
      tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, maxItems: 3 },
      ok: { type: 'boolean' },
    },
    required: ['name', 'age', 'tags', 'ok'],
    additionalProperties: false,
  },
  nested: {
    $defs: {
      item: {
        type: 'object',
        properties: { id: { type: 'integer' }, note: { anyOf: [{ type: 'string', maxLength: 4 }, { type: 'null' }] } },
        required: ['id', 'note'],
        additionalProperties: false,
      },
    },
    type: 'object',
    properties: {
      kind: { const: 'list' },
      items: { type: 'array', items: { $ref: '#/$defs/item' }, minItems: 1, maxItems: 2 },
      score: { type: ['number', 'null'] },
    },
    required: ['kind', 'items', 'score'],
    additionalProperties: false,
  },
  open: { type: 'object', properties: { x: { type: 'integer' } }, required: ['x'], additionalProperties: { type: 'boolean' } },
};

interface Run {
  text: string;
  ended: boolean;
  bytes: Buffer;
}

async function run(lm: LanguageModel, tok: Tokenizer, schema: unknown, opts: { seed?: number; sample: boolean; max: number; prompts?: number }): Promise<Run[]> {
  const eos = tok.eosTokenId!;
  const make = jsonConstraint({ schema, tokenizer: tok, eosTokenIds: [eos] });
  const prompts = Array.from({ length: opts.prompts ?? 1 }, (_, i) => tok.encode(['Answer in JSON:', 'Reply with an object'][i % 2]!));
  const out = await generate(lm, prompts, {
    max_new_tokens: opts.max,
    do_sample: opts.sample,
    ...(opts.seed !== undefined && { seed: opts.seed }),
    eos_token_id: eos,
    pad_token_id: eos,
    logits_processor: [make()],
  });
  return out.newTokens.map((ids) => {
    const ended = ids.at(-1) === eos;
    const body = ended ? ids.slice(0, -1) : ids;
    return {
      text: tok.decode(body, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false }),
      ended,
      bytes: Buffer.concat(body.map((id) => make.vocabulary.bytes[id]!)),
    };
  });
}

function checkRuns(runs: readonly Run[], schema: unknown, make: ReturnType<typeof jsonConstraint>, what: string): number {
  const validate = schema === undefined ? undefined : new Ajv({ strict: true }).compile(schema as object);
  let finished = 0;
  for (const r of runs) {
    const state = make.recognizer.stepBytes(make.recognizer.initial, r.bytes);
    assert.ok(state.length > 0, `${what}: ${JSON.stringify(r.text)} is not a valid prefix`);
    if (!r.ended) continue;
    finished++;
    assert.ok(make.recognizer.isComplete(state), `${what}: ended before the value was complete: ${JSON.stringify(r.text)}`);
    const value: unknown = JSON.parse(r.text);
    if (validate) assert.ok(validate(value), `${what}: ${r.text}: ${JSON.stringify(validate.errors)}`);
    else assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${what}: ${r.text} is not an object`);
  }
  return finished;
}

for (const fixture of ['gpt2-tiny', 'llama-tiny']) {
  describe(`jsonConstraint with generate() on ${fixture}`, () => {
    let lm: CausalLM;
    let tok: Tokenizer;
    before(async () => {
      tok = await Tokenizer.fromDir(fixturePath(fixture));
      lm = await CausalLM.load(fixturePath(fixture));
    });
    after(async () => {
      await lm.release?.();
    });

    test('unconstrained output is not JSON (so the constraint is what makes it so)', async () => {
      const out = await generate(lm, [tok.encode('Answer in JSON:')], { max_new_tokens: 30, do_sample: false });
      assert.throws(() => JSON.parse(tok.decode(out.newTokens[0]!, { skipSpecialTokens: true })));
    });

    for (const [name, schema] of Object.entries(SCHEMAS)) {
      test(`${name}: greedy and sampled outputs parse and validate`, async () => {
        const make = jsonConstraint({ schema, tokenizer: tok, eosTokenIds: [tok.eosTokenId!] });
        const runs = [
          ...(await run(lm, tok, schema, { sample: false, max: 120 })),
          ...(await run(lm, tok, schema, { sample: true, seed: 1, max: 120 })),
          ...(await run(lm, tok, schema, { sample: true, seed: 2, max: 120 })),
        ];
        const finished = checkRuns(runs, schema, make, `${fixture}/${name}`);
        // Free-form strings may run past the budget; bounded schemas finish.
        if (name !== 'json_object' && name !== 'open') assert.ok(finished >= 2, `${name}: only ${finished} of ${runs.length} runs finished`);
      });
    }

    test('a too-small max_new_tokens leaves a valid, unfinished prefix', async () => {
      const schema = SCHEMAS.nested;
      const make = jsonConstraint({ schema, tokenizer: tok, eosTokenIds: [tok.eosTokenId!] });
      for (const seed of [3, 4]) {
        const [r] = await run(lm, tok, schema, { sample: true, seed, max: 6 });
        assert.ok(!r!.ended, 'six tokens cannot hold the nested schema');
        checkRuns([r!], schema, make, 'short');
        assert.throws(() => JSON.parse(r!.text));
      }
    });

    test('continuous batching: concurrent requests, each with its own schema and processor', async () => {
      const engine = createBatchEngine({ m: { lm, decode: (ids) => tok.decode(ids) } }, { maxBatch: 4 });
      const eos = tok.eosTokenId!;
      const jobs = ['person', 'nested', 'person', 'json_object'].map((name, i) => {
        const schema = SCHEMAS[name];
        const make = jsonConstraint({ schema, tokenizer: tok, eosTokenIds: [eos] });
        const promptIds = tok.encode(`Request ${i}: JSON please`);
        const handle = engine.submit({
          promptIds,
          maxNewTokens: 120,
          sampling: { temperature: 1, seed: 10 + i },
          stopTokenIds: [eos],
          logitsProcessors: [make({ promptLength: promptIds.length })],
        });
        return { name, schema, make, handle };
      });
      let finished = 0;
      for (const { name, schema, make, handle } of jobs) {
        const result = await handle.result;
        const ended = result.finishReason === 'stop';
        if (ended) assert.equal(result.tokens.at(-1), eos);
        const body = ended ? result.tokens.slice(0, -1) : result.tokens;
        // result.text is what the server returns.
        finished += checkRuns([{ text: result.text, ended, bytes: Buffer.concat(body.map((id) => make.vocabulary.bytes[id]!)) }], schema, make, `engine/${name}`);
      }
      await engine.close();
      assert.ok(finished >= 2, `only ${finished} of 4 engine requests finished`);
    });

    test('beam search: beams fork from shared prefixes and the best one still validates', async () => {
      const schema = SCHEMAS.person;
      const make = jsonConstraint({ schema, tokenizer: tok, eosTokenIds: [tok.eosTokenId!] });
      const out = await generate(lm, [tok.encode('JSON:')], { max_new_tokens: 80, num_beams: 3, eos_token_id: tok.eosTokenId!, pad_token_id: tok.eosTokenId!, logits_processor: [make()] });
      const ids = out.newTokens[0]!;
      const ended = ids.at(-1) === tok.eosTokenId;
      const body = ended ? ids.slice(0, -1) : ids;
      const text = tok.decode(body, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false });
      checkRuns([{ text, ended, bytes: Buffer.concat(body.map((id) => make.vocabulary.bytes[id]!)) }], schema, make, 'beams');
    });

    test('one processor serves the rows of a batch (its state is keyed on each row\'s tokens)', async () => {
      const schema = SCHEMAS.person;
      const make = jsonConstraint({ schema, tokenizer: tok, eosTokenIds: [tok.eosTokenId!] });
      const runs = await run(lm, tok, schema, { sample: true, seed: 5, max: 100, prompts: 2 });
      assert.equal(runs.length, 2);
      checkRuns(runs, schema, make, 'batch');
    });
  });
}

describe('jsonConstraint on a SentencePiece vocabulary (byte fallback)', () => {
  test('sampled outputs of a random table model validate', async () => {
    const tok = sentencePieceTokenizer();
    const lm = new TableLM(tok.vocabSize, 11, { scale: 3 });
    const schema = SCHEMAS.person;
    const make = jsonConstraint({ schema, tokenizer: tok, eosTokenIds: [tok.eosTokenId!] });
    const runs: Run[] = [];
    for (const seed of [1, 2, 3, 4]) runs.push(...(await run(lm, tok, schema, { sample: true, seed, max: 150 })));
    const finished = checkRuns(runs, schema, make, 'sentencepiece');
    assert.ok(finished >= 2, `only ${finished} of ${runs.length} finished`);
  });
});

describe('jsonConstraint', () => {
  test('an unsupported keyword throws naming its path', () => {
    const tok = sentencePieceTokenizer();
    assert.throws(
      () => jsonConstraint({ schema: { type: 'object', properties: { when: { type: 'string', format: 'date' } } }, tokenizer: tok, eosTokenIds: [2] }),
      (err: unknown) => err instanceof UnsupportedSchemaError && err.keyword === 'format' && err.path === '/properties/when/format',
    );
  });

  test('promptLength: the JSON starts where the prompt ends, even if the first call already has generated tokens', () => {
    const tok = sentencePieceTokenizer();
    const make = jsonConstraint({ tokenizer: tok, eosTokenIds: [tok.eosTokenId!] });
    const prompt = [tok.bosTokenId!, ...tok.encode('a', { addSpecialTokens: false })];
    const generated = tok.encode('{"a": null}', { addSpecialTokens: false });
    const scores = new Float32Array(tok.vocabSize);
    make({ promptLength: prompt.length })([...prompt, ...generated], scores);
    assert.deepEqual([...scores.keys()].filter((id) => scores[id] === 0), [tok.eosTokenId]);
    const fresh = new Float32Array(tok.vocabSize);
    make()([...prompt, ...generated], fresh);
    assert.ok(fresh[tok.eosTokenId!] === -Infinity, 'without promptLength all of it is the prompt: nothing generated yet');
    assert.throws(() => make({ promptLength: 99 })(prompt, scores), /promptLength 99/);
  });

  test('a rewind to a long-dropped state (speculative decoding) is replayed from the prompt, not taken for a new prompt', () => {
    const tok = sentencePieceTokenizer();
    const make = jsonConstraint({ tokenizer: tok, eosTokenIds: [tok.eosTokenId!] });
    const prompt = [tok.bosTokenId!];
    const ids = [...prompt, ...tok.encode('{"a": [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, null]}', { addSpecialTokens: false })];
    assert.ok(ids.length > 40);
    const processor = make();
    const maskAt = (p: (t: readonly number[], s: Float32Array) => void, tokens: readonly number[]): number[] => {
      const scores = new Float32Array(tok.vocabSize);
      p(tokens, scores);
      return [...scores.keys()].filter((id) => scores[id] === 0);
    };
    for (let n = prompt.length; n <= ids.length; n++) maskAt(processor, ids.slice(0, n));
    for (const n of [5, 9, 30]) {
      const rewound = ids.slice(0, n);
      assert.deepEqual(maskAt(processor, rewound), maskAt(make({ promptLength: prompt.length }), rewound), `rewind to ${n} tokens`);
    }
    assert.deepEqual(maskAt(processor, ids), [tok.eosTokenId]);
  });

  test('without EOS ids there is no way to stop: refused', () => {
    assert.throws(() => jsonConstraint({ tokenizer: sentencePieceTokenizer(), eosTokenIds: [] }), /EOS/);
  });

  test('the mask: only tokens that keep the value valid; EOS only once it is complete', () => {
    const tok = sentencePieceTokenizer();
    const eos = tok.eosTokenId!;
    const make = jsonConstraint({ schema: { type: 'object', properties: { a: { type: 'null' } }, required: ['a'], additionalProperties: false }, tokenizer: tok, eosTokenIds: [eos] });
    const processor = make();
    const allowedAfter = (text: string): string[] => {
      const scores = new Float32Array(tok.vocabSize);
      const ids = text === '' ? [] : tok.encode(text, { addSpecialTokens: false });
      processor([tok.bosTokenId!, ...ids], scores);
      return [...scores.keys()].filter((id) => scores[id] === 0).map((id) => tok.idToToken(id)!);
    };
    assert.deepEqual(allowedAfter('').sort(), ['<0x09>', '<0x0A>', '<0x0D>', '<0x20>', '<0x7B>', '{', '▁', '▁{', '▁▁'].sort());
    assert.deepEqual(allowedAfter('{"a": nu').sort(), ['<0x6C>', 'l', 'll'].sort());
    assert.deepEqual(allowedAfter('{"a": null}'), ['</s>']);
  });
});
