import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { exportModel, ExportUnsupportedError } from '../../src/models/export.js';
import { fixturePath } from '../helpers/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'forja-export-model-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('exportModel picks the exporter by architecture', () => {
  test('a causal LM writes onnx/model.onnx', async () => {
    const r = await exportModel(fixturePath('gpt2-tiny'), join(tmp, 'gpt2'));
    assert.deepEqual(r.onnx.map((m) => m.file), ['onnx/model.onnx']);
    assert.ok(r.onnx[0]!.bytes > 0 && existsSync(join(tmp, 'gpt2', 'onnx', 'model.onnx')));
  });

  for (const fixture of ['whisper-tiny-random', 'vit-gpt2-tiny']) {
    test(`${fixture} writes the encoder and the merged decoder`, async () => {
      const out = join(tmp, fixture);
      const r = await exportModel(fixturePath(fixture), out);
      assert.deepEqual(r.onnx.map((m) => m.file), ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx']);
      for (const m of r.onnx) assert.ok(m.bytes > 0 && existsSync(join(out, m.file)), m.file);
      assert.ok(r.files.includes('preprocessor_config.json'), r.files.join(', '));
    });
  }

  test('a quantized encoder-decoder export is refused, naming the architecture', async () => {
    await assert.rejects(
      exportModel(fixturePath('whisper-tiny-random'), join(tmp, 'wq'), { quantize: 'q4' }),
      (err: unknown) => err instanceof ExportUnsupportedError && /WhisperForConditionalGeneration exports in float32 only/.test(err.message),
    );
    assert.equal(existsSync(join(tmp, 'wq')), false);
  });
});
