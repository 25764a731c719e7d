import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Command } from 'commander';
import { register } from '../../../../src/apps/cli/commands/export.js';
import { CliError } from '../../../../src/apps/cli/errors.js';
import { fixturePath } from '../../../helpers/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'forja-cli-export-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function program(): Command {
  const p = new Command('forja').exitOverride();
  register(p);
  return p;
}

describe('forja export onnx', () => {
  test('writes the transformers.js layout', async () => {
    const out = join(tmp, 'gpt2');
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stdout.write;
    try {
      await program().parseAsync(['export', 'onnx', '--model', fixturePath('gpt2-tiny'), '--out', out], { from: 'user' });
    } finally {
      process.stdout.write = write;
    }
    assert.ok(existsSync(join(out, 'onnx', 'model.onnx')));
    assert.ok(existsSync(join(out, 'tokenizer.json')));
    assert.match(written.join(''), /wrote 7 files to .*\(onnx\/model\.onnx: 9\.9 MB\)/);
  });

  test('an encoder-decoder writes its encoder and merged decoder', async () => {
    const out = join(tmp, 'whisper');
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stdout.write;
    try {
      await program().parseAsync(['export', 'onnx', '--model', fixturePath('whisper-tiny-random'), '--out', out], { from: 'user' });
    } finally {
      process.stdout.write = write;
    }
    assert.ok(existsSync(join(out, 'onnx', 'encoder_model.onnx')) && existsSync(join(out, 'onnx', 'decoder_model_merged.onnx')));
    assert.match(written.join(''), /\(onnx\/encoder_model\.onnx: [\d.]+ MB, onnx\/decoder_model_merged\.onnx: [\d.]+ MB\)/);
  });

  test('an unsupported architecture is a failure (exit 1) naming it', async () => {
    await assert.rejects(
      program().parseAsync(['export', 'onnx', '--model', fixturePath('bert-tiny-embed'), '--out', join(tmp, 'bert')], { from: 'user' }),
      (err: unknown) => err instanceof CliError && err.exitCode === 1 && /architecture "BertModel" is not supported \(supported: GPT2LMHeadModel/.test(err.message),
    );
  });

  test('an unwritable or empty --out is a usage error (exit 2) before the model is loaded', async () => {
    const missingModel = join(tmp, 'no-model');
    for (const [out, message] of [
      ['/sys/forja-export', /^--out \/sys\/forja-export: cannot write in \/sys/],
      ['', /^--out must not be empty$/],
    ] as const) {
      await assert.rejects(
        program().parseAsync(['export', 'onnx', '--model', missingModel, '--out', out], { from: 'user' }),
        (err: unknown) => err instanceof CliError && err.exitCode === 2 && message.test(err.message),
      );
    }
  });
});
