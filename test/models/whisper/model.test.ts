import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { loadHfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { parseWhisperConfig, whisperInitialWeights, whisperTensors } from '../../../src/models/whisper/config.js';
import { Whisper } from '../../../src/models/whisper/model.js';
import { fixturePath } from '../../helpers/fixtures.js';
import type { EmitOptions } from '../../../src/onnx/emit.js';
import { encodeGraph } from '../../../src/models/encoder-decoder/graphs.js';
import { encoderModelGraph } from '../../../src/models/encoder-decoder/export.js';

const DIR = fixturePath('whisper-tiny-random');

describe('models/whisper/model', () => {
  it("reads the fixture's config and binds every tensor; the tied proj_out may be present and is ignored", async () => {
    const ckpt = await loadHfCheckpoint(DIR);
    const model = Whisper.fromCheckpoint(ckpt.config, ckpt.weights);
    assert.deepEqual(model.encoderInput, { name: 'input_features', dims: [80, 3000] });
    assert.deepEqual([model.decoderDims.layers, model.decoderDims.heads, model.decoderDims.headDim, model.decoderDims.maxPositions], [2, 4, 8, 64]);
    assert.equal(model.weights.size, whisperTensors(model.config).length);
    const withHead = new Map(ckpt.weights);
    withHead.set('proj_out.weight', ckpt.weights.get('model.decoder.embed_tokens.weight')!);
    assert.doesNotThrow(() => Whisper.fromCheckpoint(ckpt.config, withHead));
  });

  it('names a missing, misshapen or unexpected tensor', async () => {
    const ckpt = await loadHfCheckpoint(DIR);
    const missing = new Map(ckpt.weights);
    missing.delete('model.encoder.conv2.weight');
    assert.throws(() => Whisper.fromCheckpoint(ckpt.config, missing), /no tensor 'model\.encoder\.conv2\.weight' \(expected shape \[32, 32, 3\]\)/);
    const extra = new Map(ckpt.weights);
    extra.set('model.encoder.layers.9.fc1.weight', { shape: [1], data: new Float32Array(1) });
    assert.throws(() => Whisper.fromCheckpoint(ckpt.config, extra), /unexpected tensor in the checkpoint: 'model\.encoder\.layers\.9\.fc1\.weight'/);
    const untied = { ...ckpt.config, tie_word_embeddings: false };
    assert.throws(() => Whisper.fromCheckpoint(untied, ckpt.weights), /no tensor 'proj_out\.weight'/);
  });

  it('refuses configs it does not implement, naming the key', async () => {
    const { config } = await loadHfCheckpoint(DIR, { weights: false } as never);
    assert.throws(() => parseWhisperConfig({ ...config, d_model: 30 }), /d_model 30 is not divisible by encoder_attention_heads 4/);
    assert.throws(() => parseWhisperConfig({ ...config, activation_function: 'swiglu' }), /"activation_function" = "swiglu" is not supported/);
    assert.throws(() => parseWhisperConfig({ ...config, suppress_tokens: 'all' }), /"suppress_tokens" must be a list of token ids/);
    const model = Whisper.init(parseWhisperConfig(config), new Rng(1));
    assert.throws(() => model.checkEncoderInput([1, 128, 3000], 'here'), /here: input_features must be \[batch, 80, 3000\].*received \[1, 128, 3000\]/);
  });

  it("fresh weights put HF's sinusoids in the encoder positions (equal to the fixture's)", async () => {
    const ckpt = await loadHfCheckpoint(DIR);
    const fresh = whisperInitialWeights(parseWhisperConfig(ckpt.config), new Rng(3)).get('model.encoder.embed_positions.weight')!.data;
    const stored = ckpt.weights.get('model.encoder.embed_positions.weight')!.data;
    let max = 0;
    for (let i = 0; i < stored.length; i++) max = Math.max(max, Math.abs(fresh[i]! - stored[i]!));
    assert.ok(max < 1e-5, `sinusoids differ by ${max}`);
  });

  it("the runtime's encoder attends through ORT's fused MultiHeadAttention; the export's encoder keeps standard ops", async () => {
    const { config } = await loadHfCheckpoint(DIR, { weights: false } as never);
    const model = Whisper.init(parseWhisperConfig(config), new Rng(2));
    const ops = (emit: EmitOptions) => emit.graph.nodes.map((n) => n.op.name);
    const runtime = ops(encodeGraph(model));
    assert.equal(runtime.filter((op) => op === 'MultiHeadAttention').length, model.config.encoderLayers);
    assert.ok(!runtime.includes('Softmax'));
    const exported = ops(encoderModelGraph(model));
    assert.ok(!exported.includes('MultiHeadAttention'));
    assert.equal(exported.filter((op) => op === 'Softmax').length, model.config.encoderLayers);
  });
});
