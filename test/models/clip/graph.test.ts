import assert from 'node:assert/strict';
import { test } from 'node:test';
import ort from 'onnxruntime-node';
import { loadHfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { Clip } from '../../../src/models/clip/model.js';
import { ClipSession, IMAGE_EMBEDS, TEXT_EMBEDS, textGraph, visionGraph } from '../../../src/models/clip/graph.js';
import { emitModel } from '../../../src/onnx/emit.js';
import { clipGoldens, CLIP_TINY } from './clip-tiny.js';

const ckpt = await loadHfCheckpoint(CLIP_TINY);
const clip = Clip.fromCheckpoint(ckpt.config, ckpt.weights);

test("the towers' ONNX graphs carry transformers.js's input and output names", async () => {
  const text = emitModel(textGraph(clip));
  assert.deepEqual([text.inputNames, text.outputNames], [['input_ids', 'attention_mask'], [TEXT_EMBEDS]]);
  const vision = emitModel(visionGraph(clip));
  assert.deepEqual([vision.inputNames, vision.outputNames], [['pixel_values'], [IMAGE_EMBEDS]]);
  // Weights are initializers, so the file alone runs in onnxruntime (as transformers.js loads it); the batch is symbolic.
  const session = await ort.InferenceSession.create(vision.bytes);
  const g = await clipGoldens();
  const one = g.pixelValues.data.subarray(0, 3 * 32 * 32);
  const out = await session.run({ pixel_values: new ort.Tensor('float32', Float32Array.from(one), [1, 3, 32, 32]) });
  assert.deepEqual(out[IMAGE_EMBEDS]!.dims, [1, 24]);
  await session.release();
});

test('text embeds pool at the first end-of-text token, so padding after it changes nothing', async () => {
  const g = await clipGoldens();
  const session = await ClipSession.compile(textGraph(clip), TEXT_EMBEDS);
  const row = (ids: number[], mask: number[]) => session.runText(BigInt64Array.from(ids.map(BigInt)), BigInt64Array.from(mask.map(BigInt)), 1, ids.length);
  const bare = await row(g.inputIds[1]!, g.inputIds[1]!.map(() => 1));
  const padded = await row(g.paddedIds[1]!, g.paddedIds[1]!.map((_, i) => (i < 3 ? 1 : 0)));
  for (let j = 0; j < 24; j++) assert.ok(Math.abs(bare[j]! - padded[j]!) < 1e-6);
  // Pooling anywhere else (here at the last position, a pad) gives another vector.
  const moved = await row([998, 300, 5, 999], [1, 1, 1, 1]);
  assert.ok(bare.some((v, j) => Math.abs(v - moved[j]!) > 1e-3));
  await session.release();
});

test('a legacy config (eos_token_id 2) pools at the largest id instead', async () => {
  const legacy = Clip.fromCheckpoint({ ...ckpt.config, text_config: { ...(ckpt.config.text_config as object), eos_token_id: 2 } }, ckpt.weights);
  const modern = await ClipSession.compile(textGraph(clip), TEXT_EMBEDS);
  const old = await ClipSession.compile(textGraph(legacy), TEXT_EMBEDS);
  const run = (session: ClipSession, ids: number[]) => session.runText(BigInt64Array.from(ids.map(BigInt)), new BigInt64Array(ids.length).fill(1n), 1, ids.length);
  const close = (a: Float32Array, b: Float32Array) => a.every((v, j) => Math.abs(v - b[j]!) < 1e-6);
  // Legacy: the largest id (998, position 1); attention is causal, so the 300 after it changes nothing.
  assert.ok(close(await run(old, [5, 998, 300]), await run(old, [5, 998])));
  // Current rule with no eos token in the row: argmax of all-false is position 0.
  assert.ok(close(await run(modern, [5, 998, 300]), await run(modern, [5])));
  assert.ok(!close(await run(old, [5, 998, 300]), await run(modern, [5, 998, 300])));
  await Promise.all([modern.release(), old.release()]);
});
