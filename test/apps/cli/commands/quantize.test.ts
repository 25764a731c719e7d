/** `forja quantize`, `forja generate --load-in` and `forja export onnx --quantize`, run as a user would. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '../../../helpers/fixtures.js';
import { forja, lastJsonLine } from '../../../helpers/forja-cli.js';

const GPT2 = fixturePath('gpt2-tiny');
const scratch = await mkdtemp(join(tmpdir(), 'forja-quantize-cli-'));
after(() => rm(scratch, { recursive: true, force: true }));

const GREEDY = ['--greedy', '--max-new-tokens', '8', '--json', 'Once upon a time'];
const ids = (stdout: string): number[] => lastJsonLine(stdout).token_ids as number[];

describe('forja quantize', () => {
  test('writes a checkpoint that generate loads, giving what --load-in gives', async () => {
    const out = join(scratch, 'q8');
    const run = await forja(['quantize', '--model', GPT2, '--bits', '8', '--group-size', '16', '--out', out, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = lastJsonLine(run.stdout) as { quantization_config: Record<string, unknown>; quantized_bytes: number; float_bytes: number };
    assert.equal(report.quantization_config.bits, 8);
    assert.ok(report.quantized_bytes < report.float_bytes);
    assert.ok(existsSync(join(out, 'tokenizer.json')));
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { quantization_config: { group_size: number } };
    assert.equal(config.quantization_config.group_size, 16);
    const [stored, atLoad] = await Promise.all([forja(['generate', '--model', out, ...GREEDY]), forja(['generate', '--model', GPT2, '--load-in', '8bit', ...GREEDY])]);
    assert.equal(stored.code, 0, stored.stderr);
    assert.equal(atLoad.code, 0, atLoad.stderr);
    // --load-in 8bit picks group 16 here (the default 128 does not divide 48): the same weights.
    assert.deepEqual(ids(stored.stdout), ids(atLoad.stdout));
  });

  test('--bits 3 is refused before anything is read, naming the flag', async () => {
    const run = await forja(['quantize', '--model', GPT2, '--bits', '3', '--out', join(scratch, 'bits3')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--bits must be 8 or 4, got '3'/);
    assert.equal(existsSync(join(scratch, 'bits3')), false);
  });

  test('a --group-size that does not divide an input dimension names the tensor and K', async () => {
    const run = await forja(['quantize', '--model', GPT2, '--bits', '4', '--group-size', '32', '--out', join(scratch, 'g32')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--group-size 32 does not divide the input dimension K = 48 of transformer\.h\.0\.attn\.c_attn \(group sizes that divide it: 16\)/);
    assert.equal(existsSync(join(scratch, 'g32', 'config.json')), false);
  });

  test('--group-size outside 16/32/64/128 and an --out that is --model are refused', async () => {
    const g = await forja(['quantize', '--model', GPT2, '--bits', '4', '--group-size', '48', '--out', join(scratch, 'g48')]);
    assert.equal(g.code, 2);
    assert.match(g.stderr, /--group-size must be 16 or 32 or 64 or 128, got '48'/);
    const same = await forja(['quantize', '--model', GPT2, '--bits', '4', '--out', GPT2]);
    assert.equal(same.code, 2);
    assert.match(same.stderr, /--out .* is --model's directory/);
  });
});

describe('forja generate --load-in and export onnx --quantize', () => {
  test('--load-in takes 8bit or 4bit; a quantized checkpoint refuses other bits', async () => {
    const bad = await forja(['generate', '--model', GPT2, '--load-in', '3bit', ...GREEDY]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--load-in must be 8bit or 4bit, got '3bit'/);
    const q4 = join(scratch, 'q4');
    assert.equal((await forja(['quantize', '--model', GPT2, '--bits', '4', '--group-size', '16', '--out', q4])).code, 0);
    const clash = await forja(['generate', '--model', q4, '--load-in', '8bit', ...GREEDY]);
    assert.equal(clash.code, 2, clash.stderr);
    assert.match(clash.stderr, /--load-in: .*already quantized to 4 bits/);
  });

  test('export onnx --quantize q4 writes onnx/model_q4.onnx', async () => {
    const out = join(scratch, 'export-q4');
    const run = await forja(['export', 'onnx', '--model', GPT2, '--quantize', 'q4', '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /onnx\/model_q4\.onnx: [\d.]+ MB/);
    assert.ok(existsSync(join(out, 'onnx/model_q4.onnx')));
    const bad = await forja(['export', 'onnx', '--model', GPT2, '--quantize', 'q3', '--out', join(scratch, 'export-q3')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--quantize must be q8 or q4, got 'q3'/);
  });
});
