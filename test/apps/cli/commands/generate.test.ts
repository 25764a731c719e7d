import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../../../src/io/safetensors.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { forja, lastJsonLine } from '../../../helpers/forja-cli.js';

const MODEL = fixturePath('gpt2-tiny');
const golden = JSON.parse(readFileSync(join(MODEL, 'golden.json'), 'utf8')) as {
  prompts: string[];
  greedy: { input_ids: number[]; output_ids: number[]; text: string }[];
};

const scratch = await mkdtemp(join(tmpdir(), 'forja-generate-'));
after(() => rm(scratch, { recursive: true, force: true }));

/** gpt2-tiny with `replace` files written over links to the fixture's other files. */
async function variant(name: string, replace: Record<string, string | Uint8Array>): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(dir);
  for (const file of await readdir(MODEL)) if (!(file in replace)) await symlink(join(MODEL, file), join(dir, file));
  for (const [file, data] of Object.entries(replace)) await writeFile(join(dir, file), data);
  return dir;
}

let sampledConfigModel: string;
let nanModel: string;
before(async () => {
  const config = JSON.parse(readFileSync(join(MODEL, 'generation_config.json'), 'utf8')) as Record<string, unknown>;
  sampledConfigModel = await variant('do-sample-config', { 'generation_config.json': JSON.stringify({ ...config, do_sample: true }) });
  nanModel = await variant('nan-weights', {});
  await rm(join(nanModel, 'model.safetensors'));
  const weights = await readSafetensors(join(MODEL, 'model.safetensors'));
  const wpe = weights.get('transformer.wpe.weight')!;
  const data = Float32Array.from(wpe.data as Float32Array).fill(Number.NaN);
  await writeSafetensors(join(nanModel, 'model.safetensors'), new Map([...weights].map(([k, t]) => [k, k === 'transformer.wpe.weight' ? { dtype: 'F32', shape: t.shape, data } : t])));
});

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

  test('--adapter: a PEFT adapter over the base changes the greedy continuation; a missing or non-adapter dir is refused', async () => {
    const args = ['generate', '--model', MODEL, golden.prompts[0]!, '--max-new-tokens', '24', '--greedy', '--json'];
    const [adapted, missing, notAdapter] = await Promise.all([
      forja([...args, '--adapter', fixturePath('gpt2-tiny-lora')]),
      forja([...args, '--adapter', join(scratch, 'no-such-adapter')]),
      forja([...args, '--adapter', MODEL]),
    ]);
    assert.equal(adapted.code, 0, adapted.stderr);
    const g = golden.greedy[0]!;
    const ids = lastJsonLine(adapted.stdout).token_ids as number[];
    assert.equal(ids.length, 24);
    assert.notDeepEqual(ids, g.output_ids.slice(g.input_ids.length));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--adapter '.*no-such-adapter' does not exist/);
    assert.equal(notAdapter.code, 1);
    assert.match(notAdapter.stderr, /--adapter .*no adapter_config\.json/);
  });

  test('sampling with a seed is reproducible; without --json the text is printed', async () => {
    const args = ['generate', '--model', MODEL, 'Hola', '--max-new-tokens', '6', '--seed', '5', '--top-k', '20'];
    const [a, b, text] = await Promise.all([forja([...args, '--json']), forja([...args, '--json']), forja(args)]);
    assert.equal(a.code, 0, a.stderr);
    assert.deepEqual(lastJsonLine(a.stdout).token_ids, lastJsonLine(b.stdout).token_ids);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, `${lastJsonLine(a.stdout).generated_text as string}\n`);
  });

  test('--seed only seeds: greedy unless --do-sample, a sampling flag or generation_config.json do_sample', async () => {
    const g = golden.greedy[0]!;
    const base = ['generate', golden.prompts[0]!, '--max-new-tokens', '24', '--json'];
    const [seedOnly, sampled, sampledAgain, byConfig] = await Promise.all([
      forja([...base, '--model', MODEL, '--seed', '5']),
      forja([...base, '--model', MODEL, '--seed', '5', '--do-sample']),
      forja([...base, '--model', MODEL, '--seed', '5', '--do-sample']),
      forja([...base, '--model', sampledConfigModel, '--seed', '5']),
    ]);
    for (const run of [seedOnly, sampled, sampledAgain, byConfig]) assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(lastJsonLine(seedOnly.stdout).token_ids, g.output_ids.slice(g.input_ids.length), '--seed alone decodes greedily');
    const tokens = lastJsonLine(sampled.stdout).token_ids;
    assert.notDeepEqual(tokens, g.output_ids.slice(g.input_ids.length), '--do-sample samples');
    assert.deepEqual(lastJsonLine(sampledAgain.stdout).token_ids, tokens, 'the seed fixes the sample');
    assert.deepEqual(lastJsonLine(byConfig.stdout).token_ids, tokens, "generation_config.json's do_sample turns sampling on");
  });

  test('a checkpoint with NaN weights fails (exit 1) naming the tensor and the count', async () => {
    const run = await forja(['generate', '--model', nanModel, 'x', '--max-new-tokens', '2']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^forja: generate --model .*: .*tensor 'transformer\.wpe\.weight' holds 6144 non-finite values \(NaN or Inf\) of 6144; /);
    assert.equal(run.stdout, '');
  });

  test('bad flag values, conflicting flags and sizes beyond the model or machine exit with code 2 and name the flag', async () => {
    const results = await Promise.all([
      forja(['generate', '--model', MODEL, 'x', '--top-p', '1.5']),
      forja(['generate', '--model', MODEL, 'x', '--max-new-tokens', '0']),
      forja(['generate', '--model', MODEL, 'x', '--greedy', '--temperature', '0.7']),
      forja(['generate', '--model', MODEL, 'x', '--max-new-tokens', '500']),
      forja(['generate', '--model', MODEL, 'x', '--greedy', '--num-beams', '3']),
      forja(['generate', '--model', MODEL, 'x', '--greedy', '--do-sample']),
      forja(['generate', '--model', MODEL, 'x', '--num-beams', '100000000']),
      forja(['generate', '--model', MODEL, 'x '.repeat(200)]),
    ]);
    const messages = [
      /--top-p must be a number in \[0, 1\], got '1.5'/,
      /--max-new-tokens must be a positive integer, got '0'/,
      /--greedy cannot be combined with --temperature/,
      /--max-new-tokens 500 is too many: the model's context is 128 positions \(max_position_embeddings\) and the prompt takes 1, so at most 127/,
      /--greedy cannot be combined with --num-beams 3/,
      /--greedy cannot be combined with --do-sample/,
      /--num-beams 100000000 needs about \d+\.\d GiB for key\/value caches and logits at 128 positions, more than this machine's \d+\.\d GiB; at most \d+ beams fit/,
      /the prompt is \d+ tokens and the model's context is 128 positions \(max_position_embeddings\), which leaves no room for new tokens/,
    ];
    results.forEach((r, i) => {
      assert.equal(r.code, 2, `case ${i}: ${r.stderr}`);
      assert.match(r.stderr, messages[i]!);
      assert.equal(r.stdout, '', `case ${i} prints nothing on stdout`);
    });
  });
});
