import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from '../../../helpers/fixtures.js';
import { forja, lastJsonLine } from '../../../helpers/forja-cli.js';


const MODEL = fixturePath('gpt2-tiny');
const golden = JSON.parse(readFileSync(join(MODEL, 'golden.json'), 'utf8')) as {
  prompts: string[];
  greedy: { input_ids: number[]; output_ids: number[]; text: string }[];
};

describe('forja generate', () => {
  test('--json --greedy: the golden continuation, with counts and speed', async () => {
    const { code, stdout, stderr } = await forja(['generate', '--model', MODEL, golden.prompts[0]!, '--max-new-tokens', '24', '--greedy', '--json']);
    assert.equal(code, 0, stderr);
    const report = lastJsonLine(stdout);
    const g = golden.greedy[0]!;
    assert.deepEqual(report.token_ids, g.output_ids.slice(g.input_ids.length));
    assert.equal(report.generated_text, golden.prompts[0]! + g.text);
    assert.equal(report.prompt_tokens, g.input_ids.length);
    assert.equal(report.new_tokens, 24);
    assert.ok(typeof report.tokens_per_second === 'number' && report.tokens_per_second > 0);
  });

  test('sampling with a seed is reproducible; without --json the text is printed', async () => {
    const args = ['generate', '--model', MODEL, 'Hola', '--max-new-tokens', '6', '--seed', '5', '--top-k', '20'];
    const [a, b, text] = await Promise.all([forja([...args, '--json']), forja([...args, '--json']), forja(args)]);
    assert.equal(a.code, 0, a.stderr);
    assert.deepEqual(lastJsonLine(a.stdout).token_ids, lastJsonLine(b.stdout).token_ids);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, `${lastJsonLine(a.stdout).generated_text as string}\n`);
  });

  test('bad flag values exit with code 2 and name the flag', async () => {
    const results = await Promise.all([
      forja(['generate', '--model', MODEL, 'x', '--top-p', '1.5']),
      forja(['generate', '--model', MODEL, 'x', '--max-new-tokens', '0']),
      forja(['generate', '--model', MODEL, 'x', '--greedy', '--temperature', '0.7']),
      forja(['generate', '--model', MODEL, 'x', '--max-new-tokens', '500']),
    ]);
    const messages = [
      /--top-p must be a number in \[0, 1\], got '1.5'/,
      /--max-new-tokens must be a positive integer, got '0'/,
      /--greedy cannot be combined with --temperature/,
      /prompt \(1 token\) \+ max_new_tokens \(500\) = 501 exceeds the model's context length of 128/,
    ];
    results.forEach((r, i) => {
      assert.equal(r.code, 2, `case ${i}: ${r.stderr}`);
      assert.match(r.stderr, messages[i]!);
      assert.equal(r.stdout, '', `case ${i} prints nothing on stdout`);
    });
  });
});
