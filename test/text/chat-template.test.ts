import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  applyChatTemplate,
  hasGenerationBlocks,
  markGenerationBlocks,
  takeGenerationSpans,
  type ChatMessage,
} from '../../src/text/chat-template.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { fixturePath } from '../helpers/fixtures.js';

// Llama 3's template, as shipped in its tokenizer_config.json.
const LLAMA3 =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

// ChatML (Qwen-style) with a default system prompt.
const CHATML =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const CHAT: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: '  Hola, ¿qué tal?  ' },
  { role: 'assistant', content: 'Bien 😀' },
  { role: 'user', content: 'Tell me a joke.' },
];

test('Llama-3 template: bos token, headers, trimmed content, generation prompt', () => {
  const out = applyChatTemplate(LLAMA3, CHAT, { addGenerationPrompt: true, bosToken: '<|begin_of_text|>', eosToken: '<|eot_id|>' });
  assert.equal(
    out,
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nHola, ¿qué tal?<|eot_id|>' +
      '<|start_header_id|>assistant<|end_header_id|>\n\nBien 😀<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>' +
      '<|start_header_id|>assistant<|end_header_id|>\n\n',
  );
  const noPrompt = applyChatTemplate(LLAMA3, CHAT, { bosToken: '<|begin_of_text|>' });
  assert.ok(noPrompt.endsWith('Tell me a joke.<|eot_id|>'));
});

test('ChatML template: default system prompt only when none is given', () => {
  const user: ChatMessage[] = [{ role: 'user', content: 'Hi' }];
  assert.equal(
    applyChatTemplate(CHATML, user, { addGenerationPrompt: true }),
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
  );
  assert.equal(
    applyChatTemplate(CHATML, [{ role: 'system', content: 'S' }, ...user]),
    '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n',
  );
});

test('block whitespace is trimmed like transformers (trim_blocks, lstrip_blocks)', () => {
  const multiLine = [
    '{% for message in messages %}',
    '<|im_start|>{{ message.role }}',
    '{{ message.content }}<|im_end|>',
    '{% endfor %}',
    '    {% if add_generation_prompt %}',
    '<|im_start|>assistant',
    '{% endif %}',
  ].join('\n');
  assert.equal(
    applyChatTemplate(multiLine, [{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }),
    '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
  );
});

test('tools, extra variables, undefined special tokens and raise_exception', () => {
  const t =
    '{% if tools is defined %}{% for tool in tools %}[{{ tool.name }}]{% endfor %}{% endif %}' +
    '{% if bos_token is defined %}BOS{% endif %}{{ date_string }}|' +
    "{% for m in messages %}{% if m.role not in ['user', 'assistant'] %}{{ raise_exception('roles must be user/assistant, got ' + m.role) }}{% endif %}{{ m.content }}{% endfor %}";
  assert.equal(
    applyChatTemplate(t, [{ role: 'user', content: 'x' }], { tools: [{ name: 'calc' }, { name: 'web' }], extra: { date_string: '26 Jul 2024' } }),
    '[calc][web]26 Jul 2024|x',
  );
  assert.throws(
    () => applyChatTemplate(t, [{ role: 'system', content: 'x' }]),
    /chat template failed to render: roles must be user\/assistant, got system/,
  );
});

test('continueFinalMessage leaves the last turn open', () => {
  const msgs: ChatMessage[] = [
    { role: 'user', content: 'Name a colour.' },
    { role: 'assistant', content: 'Blue is' },
  ];
  const out = applyChatTemplate(LLAMA3, msgs, { bosToken: '<s>', continueFinalMessage: true });
  assert.equal(out, '<s><|start_header_id|>user<|end_header_id|>\n\nName a colour.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nBlue is');
  assert.throws(() => applyChatTemplate(LLAMA3, msgs, { continueFinalMessage: true, addGenerationPrompt: true }), /cannot both be set/);
});

test('bad templates and messages give clear errors', () => {
  assert.throws(() => applyChatTemplate('{% for m in messages %}', [{ role: 'user', content: 'x' }]), /chat template does not parse: .*template starts "\{% for m in messages %\}"/);
  assert.throws(() => applyChatTemplate('', []), /template is empty/);
  const badRole = [{ content: 'x' }] as unknown as ChatMessage[];
  assert.throws(() => applyChatTemplate(CHATML, badRole), /messages\[0\] must be an object with a string "role"/);
});

test('rendered prompt encodes with a real tokenizer', async () => {
  const tok = await Tokenizer.fromDir(fixturePath('gpt2-tiny'));
  const prompt = tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { template: CHATML, addGenerationPrompt: true });
  const ids = tok.encode(prompt, { addSpecialTokens: false });
  assert.equal(tok.decode(ids), prompt);
  // The tokenizer fills in its own special tokens.
  assert.equal(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { template: '{{ eos_token }}{{ bos_token }}' }), '<|endoftext|><|endoftext|>');
});

test('a tokenizer without a chat template names the options that supply one', async () => {
  const tok = await Tokenizer.fromDir(fixturePath('gpt2-tiny'));
  assert.throws(
    () => tok.applyChatTemplate([{ role: 'user', content: 'Hi' }]),
    (err: Error) => {
      assert.match(err.message, /this tokenizer has no chat template .*the text-generation pipeline's chat_template option, or template in applyChatTemplate's options/);
      assert.doesNotMatch(err.message, /opts\.template/);
      return true;
    },
  );
});

test('chat-template fixture: chat_template.jinja renders both conversations and their ids exactly', async () => {
  const dir = fixturePath('chat-template');
  const golden = JSON.parse(readFileSync(fixturePath('chat-template', 'golden.json'), 'utf8')) as {
    conversations: { messages: ChatMessage[]; text: string; input_ids: number[] }[];
  };
  const tok = await Tokenizer.fromDir(dir);
  // The template comes from chat_template.jinja: tokenizer_config.json has none.
  assert.equal(tok.chatTemplate, readFileSync(fixturePath('chat-template', 'chat_template.jinja'), 'utf8'));
  assert.equal(tok.config.chat_template, undefined);
  assert.equal(golden.conversations.length, 2);
  for (const c of golden.conversations) {
    const text = tok.applyChatTemplate(c.messages, { addGenerationPrompt: true });
    assert.equal(text, c.text);
    assert.deepEqual(tok.encode(text, { addSpecialTokens: false }), c.input_ids);
  }
});

describe('{% generation %} blocks', () => {
  const GEN =
    "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' }}{% if m.role == 'assistant' %}{% generation %}{{ m.content + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}" +
    "{% else %}{{ m.content + '<|im_end|>\\n' }}{% endif %}{% endfor %}";
  const CONV: ChatMessage[] = [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello' },
    { role: 'user', content: 'Bye' },
    { role: 'assistant', content: 'Ciao' },
  ];

  test('marked blocks give the assistant spans of the text jinja renders without them', () => {
    assert.equal(hasGenerationBlocks(GEN), true);
    assert.equal(hasGenerationBlocks(CHATML), false);
    const { text, spans } = takeGenerationSpans(applyChatTemplate(markGenerationBlocks(GEN), CONV));
    assert.equal(text, applyChatTemplate(GEN, CONV));
    assert.deepEqual(spans.map(([s, e]) => text.slice(s, e)), ['Hello<|im_end|>', 'Ciao<|im_end|>']);
  });

  test('whitespace control, trim_blocks and lstrip_blocks act on marked tags as on the tags', () => {
    const multiLine = [
      '{% for m in messages %}',
      '<|im_start|>{{ m.role }}',
      '{% if m.role == "assistant" %}',
      '    {% generation %}',
      '{{ m.content }}<|im_end|>',
      '    {%- endgeneration %}',
      '',
      '{% else %}',
      '{{ m.content }}<|im_end|>',
      '{% endif %}',
      '{% endfor %}',
    ].join('\n');
    const { text, spans } = takeGenerationSpans(applyChatTemplate(markGenerationBlocks(multiLine), CONV));
    assert.equal(text, applyChatTemplate(multiLine, CONV));
    assert.deepEqual(spans.map(([s, e]) => text.slice(s, e)), ['Hello<|im_end|>', 'Ciao<|im_end|>']);
  });

  test('unbalanced markers are refused', () => {
    assert.throws(() => takeGenerationSpans('a\uE000b\uE000c'), /opens inside another/);
    assert.throws(() => takeGenerationSpans('a\uE001'), /without \{% generation %\}/);
    assert.throws(() => takeGenerationSpans('\uE000a'), /never closed/);
    assert.deepEqual(takeGenerationSpans('plain'), { text: 'plain', spans: [] });
  });
});
