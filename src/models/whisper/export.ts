/**
 * Whisper in the ONNX layout transformers.js loads (Optimum's): onnx/encoder_model.onnx
 * (input_features → last_hidden_state) and onnx/decoder_model_merged.onnx with Whisper's cache
 * names, `past_key_values.{i}.decoder.key/value` (self-attention, growing) and
 * `past_key_values.{i}.encoder.key/value` (cross-attention, fixed). Optimum's merged decoder is an
 * If over two subgraphs; here one graph does both without waste: only the encoder rows of
 * `encoder_hidden_states` are projected when `use_cache_branch` is false (all of them) and none
 * when it is true, and the projected rows are appended to the (then empty) encoder cache. The
 * present encoder outputs are those projected rows only (empty on cached steps).
 */
import { trace } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import type { EmitOptions } from '../../onnx/emit.js';
import { loadHfCheckpoint, type LoadCheckpointOptions } from '../../io/hf-checkpoint.js';
import { writeEncoderDecoderExport, type EncoderDecoderExportResult } from '../encoder-decoder/export.js';
import { dimOf } from '../transformer/mask.js';
import type { KvPair } from '../transformer/types.js';
import { Whisper } from './model.js';

const BATCH = 'batch_size';

/** decoder_model_merged.onnx for Whisper (see the module doc). */
export function whisperMergedDecoderGraph(model: Whisper): EmitOptions {
  const c = model.config;
  const hs = model.headDim;
  return trace((g) => {
    const inputIds = g.input('input_ids', [BATCH, 'decoder_sequence_length'], 'int64');
    const encoderHidden = g.input('encoder_hidden_states', [BATCH, 'encoder_sequence_length', c.dModel]);
    const cache = (kind: 'decoder' | 'encoder', length: string): KvPair[] =>
      Array.from({ length: c.decoderLayers }, (_, i) => ({
        key: g.input(`past_key_values.${i}.${kind}.key`, [BATCH, c.decoderHeads, length, hs]),
        value: g.input(`past_key_values.${i}.${kind}.value`, [BATCH, c.decoderHeads, length, hs]),
      }));
    const past = cache('decoder', 'past_decoder_sequence_length');
    const pastCross = cache('encoder', 'encoder_sequence_length_out');
    const useCacheBranch = g.input('use_cache_branch', [1], 'bool');
    // Rows of encoder_hidden_states to project: all of them on the first step, none once cached.
    const fresh = F.mul(dimOf(encoderHidden, 1), F.sub(1, F.squeeze(F.cast(useCacheBranch, 'int64'), [0])));
    const projected = model.crossKeyValues(F.gather(encoderHidden, F.range(0, fresh), 1));
    const cross = pastCross.map((kv, i) => ({ key: F.concat([kv.key, projected[i]!.key], 2), value: F.concat([kv.value, projected[i]!.value], 2) }));
    const { logits, present } = model.decode({ inputIds, past, cross });
    const outputs: EmitOptions['outputs'] = { logits };
    present.forEach((kv, i) => {
      outputs[`present.${i}.decoder.key`] = kv.key;
      outputs[`present.${i}.decoder.value`] = kv.value;
      // Only what this step projected (nothing once cached): transformers.js keeps the encoder cache it
      // already has, as Optimum's with-past branch returns no new one.
      outputs[`present.${i}.encoder.key`] = projected[i]!.key;
      outputs[`present.${i}.encoder.value`] = projected[i]!.value;
    });
    const pairs = (kvs: KvPair[]) => kvs.flatMap((kv) => [kv.key, kv.value]);
    const inputs = [inputIds, encoderHidden, ...past.flatMap((kv, i) => [...pairs([kv]), ...pairs([pastCross[i]!])]), useCacheBranch];
    return { graph: g, inputs, outputs, variables: 'initializers', name: 'decoder_model_merged' };
  });
}

/** Export a Whisper checkpoint (directory or hub id) to `outDir` in transformers.js' layout. */
export async function exportWhisper(modelDir: string, outDir: string, opts: LoadCheckpointOptions = {}): Promise<EncoderDecoderExportResult> {
  const ckpt = await loadHfCheckpoint(modelDir, { ...opts, extraFiles: [...(opts.extraFiles ?? []), 'preprocessor_config.json'] });
  const model = Whisper.fromCheckpoint(ckpt.config, ckpt.weights, `${ckpt.dir}/config.json`);
  return writeEncoderDecoderExport(model, { dir: ckpt.dir, config: ckpt.config, generationConfig: ckpt.generationConfig }, outDir, whisperMergedDecoderGraph(model));
}
