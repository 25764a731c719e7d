import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FinetuneBatch } from '../../../src/data/finetune/batching.js';
import { inOrder } from '../../../src/models/finetune/data.js';
import { compileEvalGraph, excludedFromWeightDecay, fillBatch, signatureOf, type Signature } from '../../../src/models/finetune/graph.js';
import type { CausalLmModel } from '../../../src/models/transformer/types.js';
import { allocate, type HostData } from '../../../src/nn/index.js';
import { viewTensor } from '../../../src/runtime/session.js';
import { randomLlama } from '../lora/helpers.js';
import { countingExamples, gpt2Tiny, splitOf } from './helpers.js';

/** The summed loss of `batch` through an evaluation graph of `rows` rows and `signature`. */
async function summedLoss(model: CausalLmModel, batch: FinetuneBatch, rows = batch.batchSize, signature: Signature = signatureOf(batch)): Promise<number> {
  const graph = await compileEvalGraph(model, rows, signature);
  try {
    const names = ['input_ids', 'attention_mask', 'position_ids', 'labels', ...(signature.packed ? ['segment_ids'] : [])];
    const buffers: Record<string, HostData> = Object.fromEntries(names.map((n) => [n, allocate(n === 'segment_ids' ? 'int32' : 'int64', rows * batch.seqLength)]));
    fillBatch(buffers, batch, rows);
    const feeds = Object.fromEntries(names.map((n) => [n, viewTensor(buffers[n]!, [rows, batch.seqLength])]));
    const out = await graph.run(feeds, ['loss_sum']);
    return (out.loss_sum!.data as Float32Array)[0]!;
  } finally {
    await graph.release();
  }
}

const sumOver = async (model: CausalLmModel, batches: Iterable<FinetuneBatch>): Promise<number> => {
  let total = 0;
  for (const b of batches) total += await summedLoss(model, b);
  return total;
};

describe('fine-tuning graphs', () => {
  test('packed rows give the loss of the same sequences one per row: attention stays inside each sequence and positions restart', async () => {
    const model = await gpt2Tiny();
    const examples = countingExamples(6, { minLength: 4, maxLength: 9, prompt: 1, seed: 3 });
    const packed = splitOf(examples, 20, true);
    const padded = splitOf(examples, 20);
    assert.ok(packed.size < examples.length, 'several sequences share a row');
    const [p] = [...inOrder(packed, packed.size)];
    assert.ok(p!.packed);
    const fromPacked = await summedLoss(model, p!);
    const fromPadded = await sumOver(model, inOrder(padded, 2));
    assert.ok(Math.abs(fromPacked - fromPadded) < 1e-5 * fromPadded, `packed ${fromPacked} vs one per row ${fromPadded}`);
    // Without the segment mask the sequences of a row see each other, and the loss changes.
    const leaky = await summedLoss(model, p!, p!.batchSize, { length: p!.seqLength, packed: false });
    assert.ok(Math.abs(leaky - fromPadded) > 1e-3 * fromPadded, `ignoring segments: ${leaky} vs ${fromPadded}`);
  });

  test('rows past the batch are padding that adds nothing to the loss', async () => {
    const model = await gpt2Tiny();
    const [batch] = [...inOrder(splitOf(countingExamples(2, { minLength: 5, maxLength: 8 }), 8), 2)];
    const exact = await summedLoss(model, batch!);
    const padded = await summedLoss(model, batch!, 5);
    assert.ok(Math.abs(exact - padded) < 1e-6 * exact, `${exact} vs ${padded} with 3 empty rows`);
  });

  test("no weight decay for biases and LayerNorm/RMSNorm weights, by rank, which is transformers' name rule on GPT-2 and Llama", async () => {
    const byName = /(^|\.)bias$|\.ln_(1|2|f)\.weight$|(layernorm|norm)\.weight$/;
    for (const model of [await gpt2Tiny(), randomLlama()]) {
      const excluded = [...model.weights].filter(([, v]) => excludedFromWeightDecay(v)).map(([n]) => n);
      assert.ok(excluded.length > 0);
      for (const [name, v] of model.weights) assert.equal(excludedFromWeightDecay(v), byName.test(name), `${model.architecture} ${name}`);
    }
  });
});
