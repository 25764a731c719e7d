import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '../../../helpers/fixtures.js';
import { forja, forjaSignalled, lastJsonLine } from '../../../helpers/forja-cli.js';

const BASE = fixturePath('gpt2-tiny');
const scratch = await mkdtemp(join(tmpdir(), 'forja-finetune-'));
after(() => rm(scratch, { recursive: true, force: true }));

// 12 good records, then a line that is not JSON (line 13) and one of no known format (line 14).
const data = join(scratch, 'qa.jsonl');
await writeFile(
  data,
  Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `Q: what is ${i} plus one?\nA:`, completion: ` ${i + 1}.` }))
    .concat(['not json', JSON.stringify({ question: 'no format' })])
    .join('\n') + '\n',
);

const TRAIN = ['--model', BASE, '--data', data, '--steps', '4', '--batch-size', '4', '--lr', '1e-3', '--eval-steps', '2', '--seed', '3'];
const LORA = [...TRAIN, '--lora', '--r', '4', '--lora-alpha', '8'];
const loraOut = join(scratch, 'lora');

describe('forja finetune', () => {
  test('full fine-tuning: --json summary, bad lines reported as file:line and counted, an HF checkpoint generate loads', async () => {
    const out = join(scratch, 'full');
    const run = await forja(['finetune', ...TRAIN, '--validation-split', '2', '--out', out, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const r = lastJsonLine(run.stdout);
    assert.equal(r.steps, 4);
    assert.equal(r.lora, false);
    assert.equal(r.trainable_parameters, r.total_parameters);
    assert.ok((r.total_parameters as number) > 1e6);
    for (const key of ['train_loss', 'val_loss', 'val_perplexity', 'tokens_per_second', 'peak_rss_bytes', 'seconds']) {
      assert.ok(Number.isFinite(r[key]) && (r[key] as number) > 0, `${key}: ${String(r[key])}`);
    }
    assert.ok(Math.abs((r.val_perplexity as number) - Math.exp(r.val_loss as number)) < 1e-6 * (r.val_perplexity as number));
    assert.equal(r.skipped_records, 2);
    assert.match(run.stderr, new RegExp(`${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:13: not valid JSON`));
    assert.match(run.stderr, /qa\.jsonl:14: .*"question"/);
    assert.match(run.stderr, /step 1\/4 - loss: \d+\.\d+ - lr: [\d.e+-]+ - [\d,]+ tokens\/s - ETA \d+s/);
    for (const file of ['config.json', 'model.safetensors', 'generation_config.json', 'tokenizer.json', 'checkpoint.safetensors']) assert.ok(existsSync(join(out, file)), file);
    const gen = await forja(['generate', '--model', out, '--greedy', '--max-new-tokens', '4', '--json', 'Q: what is 3 plus one?\nA:']);
    assert.equal(gen.code, 0, gen.stderr);
    assert.equal((lastJsonLine(gen.stdout).token_ids as number[]).length, 4);
  });

  test('--lora: only adapters train; the PEFT adapter dir reloads with --adapter and merges to the same greedy output', async () => {
    const run = await forja(['finetune', ...LORA, '--out', loraOut, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const r = lastJsonLine(run.stdout);
    assert.equal(r.lora, true);
    // r 4 on each block's c_attn (n_embd → 3 n_embd): A is 4 × n_embd, B is 3 n_embd × 4.
    const { n_embd: width, n_layer: layers } = JSON.parse(readFileSync(join(BASE, 'config.json'), 'utf8')) as { n_embd: number; n_layer: number };
    assert.equal(r.trainable_parameters, (width + 3 * width) * 4 * layers);
    assert.ok((r.total_parameters as number) > 1e6);
    const files = await readdir(loraOut);
    assert.ok(files.includes('adapter_config.json') && files.includes('adapter_model.safetensors'), files.join(', '));
    assert.ok(!files.includes('model.safetensors'));
    const config = JSON.parse(readFileSync(join(loraOut, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.peft_type, 'LORA');
    assert.equal(config.r, 4);
    assert.equal(config.lora_alpha, 8);

    const prompt = 'Q: what is 5 plus one?\nA:';
    const greedy = ['--greedy', '--max-new-tokens', '6', '--json', prompt];
    const adapted = await forja(['generate', '--model', BASE, '--adapter', loraOut, ...greedy]);
    assert.equal(adapted.code, 0, adapted.stderr);
    const merged = join(scratch, 'lora-merged');
    const merge = await forja(['merge', '--model', BASE, '--adapter', loraOut, '--out', merged]);
    assert.equal(merge.code, 0, merge.stderr);
    const fromMerged = await forja(['generate', '--model', merged, ...greedy]);
    assert.equal(fromMerged.code, 0, fromMerged.stderr);
    assert.deepEqual(lastJsonLine(fromMerged.stdout).token_ids, lastJsonLine(adapted.stdout).token_ids);
  });

  test('SIGINT mid-run exits 130 with a resume hint; --resume finishes with the adapter of the uninterrupted run', async () => {
    assert.ok(existsSync(join(loraOut, 'adapter_model.safetensors')), 'needs the --lora test run first');
    const out = join(scratch, 'cut');
    const stopped = await forjaSignalled(['finetune', ...LORA, '--out', out, '--json'], 'SIGINT', /step 1\/4/);
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /resume with: forja finetune .*--resume/);
    const partial = lastJsonLine(stopped.stdout);
    assert.equal(partial.interrupted, true);
    assert.ok((partial.steps as number) < 4);
    const resumed = await forja(['finetune', ...LORA, '--out', out, '--resume', '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const r = lastJsonLine(resumed.stdout);
    assert.equal(r.start_step, partial.steps);
    assert.equal(r.steps, 4);
    assert.deepEqual(readFileSync(join(out, 'adapter_model.safetensors')), readFileSync(join(loraOut, 'adapter_model.safetensors')));
    const again = await forja(['finetune', ...LORA, '--out', out, '--resume']);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already finished its 4 steps/);
  });

  test('refused before any work: --out at the base model (exit 2), --strict at the first bad line (exit 1), conflicting flags (exit 2)', async () => {
    const before = (await readdir(BASE)).sort();
    for (const extra of [[], ['--overwrite']]) {
      const atBase = await forja(['finetune', ...TRAIN, '--out', BASE, ...extra]);
      assert.equal(atBase.code, 2, atBase.stderr);
      assert.match(atBase.stderr, /--out .*gpt2-tiny is the directory of the base model/);
      assert.doesNotMatch(atBase.stderr, /output_dir/);
    }
    assert.deepEqual((await readdir(BASE)).sort(), before);

    const strict = await forja(['finetune', ...TRAIN, '--out', join(scratch, 'strict'), '--strict']);
    assert.equal(strict.code, 1, strict.stderr);
    assert.match(strict.stderr, /--data: .*qa\.jsonl:13: not valid JSON/);
    assert.doesNotMatch(strict.stderr, /qa\.jsonl:14/);

    const both = await forja(['finetune', ...TRAIN, '--epochs', '1', '--out', join(scratch, 'both')]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--epochs and --steps cannot be combined/);
    const rank = await forja(['finetune', ...TRAIN, '--r', '4', '--out', join(scratch, 'rank')]);
    assert.equal(rank.code, 2);
    assert.match(rank.stderr, /need --lora/);
    const targets = await forja(['finetune', ...LORA, '--target-modules', 'q_proj', '--out', join(scratch, 'targets')]);
    assert.equal(targets.code, 2, targets.stderr);
    assert.match(targets.stderr, /--target-modules/);
    assert.match(targets.stderr, /q_proj/);
  });
});
