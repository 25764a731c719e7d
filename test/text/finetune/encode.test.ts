import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { IGNORE_INDEX } from '../../../src/data/finetune/batching.js';
import type { ChatTurn, FinetuneRecord } from '../../../src/data/finetune/records.js';
import { encodeDocument, recordEncoder, type FinetuneTokenizer } from '../../../src/text/finetune/encode.js';
import { Tokenizer } from '../../../src/text/tokenizer.js';
import { fixturePath } from '../../helpers/fixtures.js';

const M = IGNORE_INDEX;
const nums = (a: ArrayLike<number>): number[] => Array.from(a);

function encoded(enc: ReturnType<typeof recordEncoder>, record: FinetuneRecord): { ids: number[]; labels: number[] } {
  const r = enc.encode(record);
  assert.ok(r.ok, `expected an example, got ${JSON.stringify(r)}`);
  return { ids: nums(r.example.inputIds), labels: nums(r.example.labels) };
}

/** The decoded text of the labelled tokens, one string per contiguous span. */
function labelledSpans(tok: Tokenizer, ids: number[], labels: number[]): string[] {
  const spans: string[] = [];
  let cur: number[] = [];
  labels.forEach((l, t) => {
    if (l !== M) {
      assert.equal(l, ids[t], `label ${t} is not its own token`);
      cur.push(l);
    } else if (cur.length) spans.push(tok.decode(cur)), (cur = []);
  });
  if (cur.length) spans.push(tok.decode(cur));
  return spans;
}

describe('prompt/completion and text records (gpt2-tiny tokenizer)', () => {
  let tok: Tokenizer;
  before(async () => {
    tok = await Tokenizer.fromDir(fixturePath('gpt2-tiny'));
  });

  test('gpt2-tiny-lora-trainstep: its input_ids and labels are a prompt/completion pair, prompt masked, unshifted', () => {
    const golden = JSON.parse(readFileSync(fixturePath('gpt2-tiny-lora-trainstep', 'golden.json'), 'utf8')) as { input_ids: number[]; labels: number[] };
    const promptLength = golden.labels.findIndex((l) => l !== M);
    assert.equal(promptLength, 4);
    const prompt = tok.decode(golden.input_ids.slice(0, promptLength));
    const completion = tok.decode(golden.input_ids.slice(promptLength));
    assert.equal(prompt, 'Once upon a time');
    const enc = recordEncoder(tok, { appendEos: false, eosTokenId: tok.eosTokenId, chatTemplate: undefined });
    const got = encoded(enc, { format: 'prompt-completion', prompt, completion });
    assert.deepEqual(got.ids, golden.input_ids);
    assert.deepEqual(got.labels, golden.labels);
  });

  test('EOS ends a completion and is learned', () => {
    const enc = recordEncoder(tok, { appendEos: true, eosTokenId: 50256, chatTemplate: undefined });
    const got = encoded(enc, { format: 'prompt-completion', prompt: 'Q: 2+2?\nA:', completion: ' 4' });
    assert.equal(got.ids.at(-1), 50256);
    assert.deepEqual(labelledSpans(tok, got.ids, got.labels), [' 4<|endoftext|>']);
    assert.equal(tok.decode(got.ids), 'Q: 2+2?\nA: 4<|endoftext|>');
  });

  test('a token merged across the boundary counts as completion', () => {
    const enc = recordEncoder(tok, { appendEos: false, eosTokenId: 50256, chatTemplate: undefined });
    const got = encoded(enc, { format: 'prompt-completion', prompt: 'Hello wor', completion: 'ld' });
    assert.deepEqual(got.ids, tok.encode('Hello world'));
    assert.equal(got.ids.length, 2);
    assert.deepEqual(got.labels, [M, got.ids[1]]);
  });

  test('a text record learns every token, EOS included', () => {
    const enc = recordEncoder(tok, { appendEos: true, eosTokenId: 50256, chatTemplate: undefined });
    const got = encoded(enc, { format: 'text', text: 'En un lugar de la Mancha' });
    assert.deepEqual(got.ids, [...tok.encode('En un lugar de la Mancha'), 50256]);
    assert.deepEqual(got.labels, got.ids);
  });

  test('a document gets one EOS', () => {
    assert.deepEqual(nums(encodeDocument('abc', tok, 50256)), [...tok.encode('abc'), 50256]);
    assert.deepEqual(nums(encodeDocument('abc<|endoftext|>', tok, 50256)), tok.encode('abc<|endoftext|>'));
    assert.deepEqual(nums(encodeDocument('abc', tok, undefined)), tok.encode('abc'));
  });
});

describe('chat records (chat-template fixture: ChatML from chat_template.jinja)', () => {
  let tok: Tokenizer;
  let golden: { messages: ChatTurn[]; text: string; input_ids: number[] }[];
  before(async () => {
    tok = await Tokenizer.fromDir(fixturePath('chat-template'));
    golden = JSON.parse(readFileSync(fixturePath('chat-template', 'golden.json'), 'utf8')).conversations;
  });
  const reply: ChatTurn = { role: 'assistant', content: 'GANs pit a generator against a discriminator.' };

  test('prefix rendering: only assistant messages and their end-of-turn tokens are labelled', () => {
    const enc = recordEncoder(tok, { appendEos: true, eosTokenId: tok.eosTokenId, chatTemplate: tok.chatTemplate });
    assert.equal(enc.assistantMask, 'prefix-render');
    const g = golden[1]!;
    const got = encoded(enc, { format: 'chat', messages: [...g.messages, reply] });
    assert.deepEqual(labelledSpans(tok, got.ids, got.labels), ['Hello! How can I help?<|im_end|>\n', `${reply.content}<|im_end|>\n`]);
    // The golden prompt (with the generation prompt) is exactly what precedes the final reply.
    assert.deepEqual(got.ids.slice(0, g.input_ids.length), g.input_ids);
    assert.equal(got.labels[g.input_ids.length - 1], M);
    assert.notEqual(got.labels[g.input_ids.length], M);
    // No EOS is appended to chats: the template ends the turn.
    assert.equal(got.ids.at(-1), tok.encode('\n')[0]);
  });

  test('{% generation %} blocks, when the template has them, are the assistant spans', () => {
    const template =
      "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' }}{% if m['role'] == 'assistant' %}{% generation %}{{ m['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}" +
      "{% else %}{{ m['content'] + '<|im_end|>' + '\\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    const enc = recordEncoder(tok, { appendEos: true, eosTokenId: tok.eosTokenId, chatTemplate: template });
    assert.equal(enc.assistantMask, 'generation-blocks');
    const messages = [...golden[1]!.messages, reply];
    const got = encoded(enc, { format: 'chat', messages });
    assert.deepEqual(labelledSpans(tok, got.ids, got.labels), ['Hello! How can I help?<|im_end|>', `${reply.content}<|im_end|>`]);
    // Same ids as the fixture's own template: the blocks only mark.
    const plain = encoded(recordEncoder(tok, { appendEos: true, eosTokenId: tok.eosTokenId, chatTemplate: tok.chatTemplate }), { format: 'chat', messages });
    assert.deepEqual(got.ids, plain.ids);
  });

  test('a template whose prefixes render differently, or that raises, rejects the record', () => {
    const counting = "{{ messages|length }}{% for m in messages %}{{ m['role'] + ':' + m['content'] + '\\n' }}{% endfor %}";
    const r = recordEncoder(tok, { appendEos: true, eosTokenId: 50256, chatTemplate: counting }).encode({ format: 'chat', messages: [...golden[1]!.messages, reply] });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.reason === 'chat-template' && /renders the conversation up to messages\[1\] differently/.test(r.message), JSON.stringify(r));
    const raising = "{% if messages[0]['role'] != 'system' %}{{ raise_exception('a system message must come first') }}{% endif %}x";
    const r2 = recordEncoder(tok, { appendEos: true, eosTokenId: 50256, chatTemplate: raising }).encode({ format: 'chat', messages: [...golden[1]!.messages, reply] });
    assert.ok(!r2.ok && r2.reason === 'chat-template' && /a system message must come first/.test(r2.message), JSON.stringify(r2));
  });
});

test('a tokenizer without applyChatTemplate renders through the template alone', () => {
  // One id per UTF-16 unit: boundaries are exact, so the labels can be read off the text.
  const codes: FinetuneTokenizer = { encode: (s) => [...s].map((c) => c.charCodeAt(0)), eosTokenId: 3, padTokenId: undefined };
  const template = "{% for m in messages %}[{{ m.role }}]{{ m.content }}|{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}";
  const enc = recordEncoder(codes, { appendEos: true, eosTokenId: 3, chatTemplate: template });
  const r = enc.encode({ format: 'chat', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }] });
  assert.ok(r.ok);
  const text = String.fromCharCode(...r.example.inputIds);
  assert.equal(text, '[user]hi|[assistant]yo|');
  const learned = String.fromCharCode(...nums(r.example.labels).filter((l) => l !== M));
  assert.equal(learned, 'yo|');
});
