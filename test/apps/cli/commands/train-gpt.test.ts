import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forja, lastJsonLine } from '../../../helpers/forja-cli.js';


const scratch = await mkdtemp(join(tmpdir(), 'forja-train-gpt-'));
after(() => rm(scratch, { recursive: true, force: true }));
const TEXT = 'to be, or not to be, that is the question.\n'.repeat(40);
const data = join(scratch, 'tiny.txt');
await writeFile(data, TEXT);
const out = join(scratch, 'gpt');
const TINY = ['--layers', '1', '--heads', '2', '--embd', '16', '--block-size', '16', '--batch-size', '4', '--steps', '4', '--eval-interval', '2', '--eval-batches', '1', '--sample-tokens', '8'];

describe('forja train gpt', () => {
  test('--json: trains, prints one JSON line, and writes a checkpoint forja generate loads', async () => {
    const run = await forja(['train', 'gpt', '--data', data, ...TINY, '--out', out, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = lastJsonLine(run.stdout);
    assert.deepEqual(Object.keys(report).sort(), ['interrupted', 'out', 'sample', 'seconds', 'steps', 'tokens_per_second', 'train_loss', 'val_loss']);
    assert.equal(report.steps, 4);
    for (const key of ['train_loss', 'val_loss', 'seconds', 'tokens_per_second']) assert.ok(Number.isFinite(report[key]) && (report[key] as number) > 0, key);
    // An untrained 4-step model is still close to uniform over the vocabulary.
    assert.ok(Math.abs((report.val_loss as number) - Math.log(new Set(TEXT).size)) < 0.5);
    assert.ok([...(report.sample as string)].every((c) => TEXT.includes(c)), `sample ${JSON.stringify(report.sample)} uses characters outside the text`);
    assert.match(run.stderr, /step 2: train_loss: \d\.\d{4} - val_loss: \d\.\d{4}/);
    assert.match(run.stderr, /step 4: checkpoint written to /);

    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([config.architectures, config.n_layer, config.n_embd, config.n_positions], [['GPT2LMHeadModel'], 1, 16, 16]);

    const gen = await forja(['generate', '--model', out, 'to be', '--max-new-tokens', '6', '--seed', '3', '--json']);
    assert.equal(gen.code, 0, gen.stderr);
    const generated = lastJsonLine(gen.stdout);
    assert.equal(generated.new_tokens, 6);
    assert.ok((generated.generated_text as string).startsWith('to be'));
    assert.equal((generated.generated_text as string).length, 'to be'.length + 6); // one character per token
  });

  test('an existing run is only continued with --resume, and only with its settings', async () => {
    const again = await forja(['train', 'gpt', '--data', data, ...TINY, '--out', out]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already holds a training run; pass --resume/);
    const finished = await forja(['train', 'gpt', '--data', data, '--out', out, '--resume', '--json']);
    assert.equal(finished.code, 2);
    assert.match(finished.stderr, /already finished its 4 steps/);
    const mismatch = await forja(['train', 'gpt', '--data', data, '--out', out, '--resume', '--embd', '32']);
    assert.equal(mismatch.code, 2);
    assert.match(mismatch.stderr, /embd 32 differs from the run/);
  });

  test('bad flags exit with 2 and name the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['--steps', '0'], /--steps must be a positive integer, got '0'/],
      [['--lr', 'fast'], /--lr must be a positive number, got 'fast'/],
      [['--dropout', '1.5'], /--dropout must be a number in \[0, 0\.95\], got '1\.5'/],
      [['--embd', '30', '--heads', '4'], /--embd 30 must be divisible by --heads 4/],
      [['--tokenizer', join(scratch, 'nope')], /--tokenizer .*nope: expected 'char', 'gpt2' or a tokenizer directory/],
    ];
    const runs = await Promise.all(cases.map(([flags]) => forja(['train', 'gpt', '--data', data, '--out', join(scratch, 'bad'), ...flags])));
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, `${cases[i]![0].join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, cases[i]![1]);
    });
    const noData = await forja(['train', 'gpt', '--out', join(scratch, 'bad')]);
    assert.equal(noData.code, 2);
    assert.match(noData.stderr, /required option '--data <file>' not specified/);
    const missing = await forja(['train', 'gpt', '--data', join(scratch, 'missing.txt')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read text file .*missing\.txt/);
  });
});
