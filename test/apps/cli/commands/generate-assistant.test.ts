/**
 * `forja generate --assistant DIR`: assisted decoding from the CLI gives the --model's greedy ids
 * (gpt2-tiny drafted by llama-tiny, which shares its tokenizer) and reports what the draft did;
 * a draft with another vocabulary, --num-beams and a stray --assistant-tokens are refused by flag.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Rng } from '../../../../src/core/rng.js';
import { writeJsonAtomic } from '../../../../src/io/atomic.js';
import { writeSafetensorsCheckpoint } from '../../../../src/io/safetensors.js';
import { gpt2InitialWeights, parseGpt2Config } from '../../../../src/models/gpt2/model.js';
import { scratchSpec } from '../../../../src/models/registry.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { forja, lastJsonLine } from '../../../helpers/forja-cli.js';

const MODEL = fixturePath('gpt2-tiny');
const DRAFT = fixturePath('llama-tiny');
const golden = JSON.parse(readFileSync(join(MODEL, 'golden.json'), 'utf8')) as { prompts: string[]; greedy: { input_ids: number[]; output_ids: number[] }[] };

const scratch = await mkdtemp(join(tmpdir(), 'forja-generate-assistant-'));
after(() => rm(scratch, { recursive: true, force: true }));

/** A random 1-layer GPT-2 over 100 tokens: a draft whose vocabulary is not the model's. */
async function otherVocabulary(): Promise<string> {
  const dir = join(scratch, 'vocab-100');
  const config = scratchSpec('gpt2').scratch.configJson({ layers: 1, heads: 2, embd: 16, blockSize: 64, dropout: 0 }, 100);
  await writeSafetensorsCheckpoint(dir, gpt2InitialWeights(parseGpt2Config(config), new Rng(1)));
  await writeJsonAtomic(join(dir, 'config.json'), config);
  return dir;
}

describe('forja generate --assistant', () => {
  test("greedy with a draft: the model's greedy ids, with the draft's counts in --json", async () => {
    const { code, stdout, stderr } = await forja(['generate', '--model', MODEL, '--assistant', DRAFT, '--assistant-tokens', '3', golden.prompts[0]!, '--max-new-tokens', '24', '--greedy', '--json']);
    assert.equal(code, 0, stderr);
    const report = lastJsonLine(stdout) as { token_ids: number[]; assisted: { rounds: number; drafted: number; accepted: number } };
    const g = golden.greedy[0]!;
    assert.deepEqual(report.token_ids, g.output_ids.slice(g.input_ids.length));
    assert.ok(report.assisted.drafted > 0 && report.assisted.accepted <= report.assisted.drafted);
  });

  test('refusals name the flags', async () => {
    const args = ['generate', '--model', MODEL, golden.prompts[0]!, '--max-new-tokens', '4'];
    const [beams, stray, vocab] = await Promise.all([
      forja([...args, '--assistant', DRAFT, '--num-beams', '2']),
      forja([...args, '--assistant-tokens', '3']),
      forja([...args, '--assistant', await otherVocabulary()]),
    ]);
    assert.notEqual(beams.code, 0);
    assert.match(beams.stderr, /--assistant cannot be combined with --num-beams 2/);
    assert.notEqual(stray.code, 0);
    assert.match(stray.stderr, /--assistant-tokens needs --assistant/);
    assert.notEqual(vocab.code, 0);
    assert.match(vocab.stderr, /--assistant .*vocab-100 has a vocabulary of 100 tokens and --model .* 50257/);
  });
});
