import { test } from 'node:test';
import assert from 'node:assert/strict';
import { looksLikeJsonArray, parseRecordLine, parseRecordValue, type ParsedRecord } from '../../../src/data/finetune/records.js';

function rejection(p: ParsedRecord): [string, string] {
  assert.equal(p.ok, false, `expected a rejection, got ${JSON.stringify(p)}`);
  return p.ok ? ['', ''] : [p.reason, p.message];
}

test('the three formats, with extra keys ignored and message keys passed through', () => {
  assert.deepEqual(parseRecordLine('{"text": "hola", "id": 3}'), { ok: true, record: { format: 'text', text: 'hola' } });
  assert.deepEqual(parseRecordLine('{"prompt": "Q: 2+2?", "completion": " 4", "source": "x"}'), {
    ok: true,
    record: { format: 'prompt-completion', prompt: 'Q: 2+2?', completion: ' 4' },
  });
  const chat = parseRecordValue({
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [{ name: 'weather' }] },
      { role: 'tool', content: 'sunny', tool_call_id: 'c1' },
      { role: 'assistant', content: [{ type: 'text', text: 'It is ' }, { type: 'text', text: 'sunny.' }] },
    ],
    tools: [{ name: 'weather' }],
  });
  assert.ok(chat.ok && chat.record.format === 'chat');
  assert.deepEqual(chat.record.messages.map((m) => m.content), ['Be brief.', 'Weather?', '', 'sunny', 'It is sunny.']);
  assert.deepEqual(chat.record.messages[2]!.tool_calls, [{ name: 'weather' }]);
  assert.equal(chat.record.messages[3]!.tool_call_id, 'c1');
  assert.deepEqual(chat.record.tools, [{ name: 'weather' }]);
});

test('invalid JSON, unknown or mixed formats', () => {
  assert.equal(rejection(parseRecordLine('{"text": "a"'))[0], 'invalid-json');
  assert.deepEqual(rejection(parseRecordLine('[1, 2]')), ['unknown-format', 'expected a JSON object with "text", "prompt" and "completion", or "messages"; got an array']);
  assert.deepEqual(rejection(parseRecordLine('{"instruction": "x", "output": "y"}')), [
    'unknown-format',
    'expected "text", "prompt" and "completion", or "messages"; the object has "instruction", "output"',
  ]);
  assert.deepEqual(rejection(parseRecordLine('{"text": "x", "messages": []}')), ['unknown-format', 'the object has both "text" and "messages"; a record has one format']);
});

test('missing fields, wrong types and empty content', () => {
  assert.deepEqual(rejection(parseRecordValue({ prompt: 'Q' })), ['missing-field', '"completion" is missing']);
  assert.deepEqual(rejection(parseRecordValue({ completion: 'A' })), ['missing-field', '"prompt" is missing']);
  assert.deepEqual(rejection(parseRecordValue({ text: 42 })), ['wrong-type', '"text" must be a string, got a number']);
  assert.deepEqual(rejection(parseRecordValue({ prompt: 'Q', completion: '  \n' })), ['empty-content', '"completion" is empty']);
  assert.deepEqual(rejection(parseRecordValue({ messages: 'hi' })), ['wrong-type', '"messages" must be an array of messages, got a string']);
  assert.deepEqual(rejection(parseRecordValue({ messages: [] })), ['empty-content', '"messages" is empty']);
  assert.deepEqual(rejection(parseRecordValue({ messages: [{ content: 'x' }] })), ['missing-field', 'messages[0] has no "role"']);
  assert.deepEqual(rejection(parseRecordValue({ messages: [{ role: 'user' }] })), ['missing-field', 'messages[0] has no "content"']);
  assert.deepEqual(rejection(parseRecordValue({ messages: [{ role: 'user', content: 7 }] })), ['wrong-type', 'messages[0].content must be a string or a list of text parts, got a number']);
  assert.deepEqual(rejection(parseRecordValue({ messages: [{ role: 'user', content: [{ type: 'image', url: 'x' }] }] })), [
    'wrong-type',
    'messages[0].content[0] is a "image" part; only {"type": "text", "text": ...} parts can be fine-tuned',
  ]);
  assert.deepEqual(rejection(parseRecordValue({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: '' }] })), [
    'empty-content',
    'messages[1] (assistant) has empty content',
  ]);
  assert.deepEqual(rejection(parseRecordValue({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }], tools: {} })), [
    'wrong-type',
    '"tools" must be an array, got an object',
  ]);
});

test('an unknown role is named, and a chat without an assistant message is refused', () => {
  assert.deepEqual(rejection(parseRecordValue({ messages: [{ role: 'user', content: 'hi' }, { role: 'bot', content: 'yo' }] })), [
    'unknown-role',
    'unknown role "bot" in messages[1] (expected system, user, assistant, tool)',
  ]);
  assert.deepEqual(rejection(parseRecordValue({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'hi' }] })), [
    'no-assistant',
    'the conversation has no assistant message, so nothing in it is learned',
  ]);
});

test('a key named like a parse result inside a message is just data', () => {
  const p = parseRecordValue({ messages: [{ role: 'user', content: 'hi', ok: false }, { role: 'assistant', content: 'yo' }] });
  assert.ok(p.ok && p.record.format === 'chat' && p.record.messages[0]!.ok === false);
});

test('a JSON array file is recognised from its first line', () => {
  assert.equal(looksLikeJsonArray('  ['), true);
  assert.equal(looksLikeJsonArray('[{"text": "a"},'), true);
  assert.equal(looksLikeJsonArray('{"text": "a"}'), false);
});
