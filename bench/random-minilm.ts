/** The benchmarks' stand-in for all-MiniLM-L6-v2: its shape with seeded random weights, in the sentence-transformers layout. */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/core/rng.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/io/atomic.js';
import { writeSafetensorsCheckpoint } from '../src/io/safetensors.js';
import { bertConfigJson, parseBertConfig } from '../src/models/bert/config.js';
import { embeddingGraph } from '../src/models/bert/graph.js';
import { Bert, bertInitialWeights } from '../src/models/bert/model.js';
import { emitModel } from '../src/onnx/emit.js';

const TOKENIZER = fileURLToPath(new URL('../../shared/fixtures/bert-tiny-embed/', import.meta.url));
export const MINILM_MAX_TOKENS = 256;
export const MINILM_SHAPE = { layers: 6, hidden: 384, heads: 12, intermediate: 1536, vocabSize: 30522, maxPositions: 512 };

/**
 * Writes the model to `dir` (mean pooling + Normalize, max 256 tokens, bert-tiny-embed's WordPiece
 * tokenizer); with `onnx`, also onnx/model.onnx for transformers.js. Returns the parameter count.
 */
export async function writeRandomMiniLm(dir: string, { onnx = false } = {}): Promise<number> {
  const config = bertConfigJson(MINILM_SHAPE);
  const heads = { pooler: false, classifier: false };
  const weights = bertInitialWeights(parseBertConfig(config), heads, new Rng(1234));
  await writeSafetensorsCheckpoint(dir, weights);
  await writeJsonAtomic(join(dir, 'config.json'), { ...config, 'transformers.js_config': { dtype: 'fp32' } });
  copyFileSync(join(TOKENIZER, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const tokenizerConfig = JSON.parse(readFileSync(join(TOKENIZER, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  await writeJsonAtomic(join(dir, 'tokenizer_config.json'), { ...tokenizerConfig, model_max_length: MINILM_MAX_TOKENS });
  await writeJsonAtomic(join(dir, 'modules.json'), [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
  ]);
  mkdirSync(join(dir, '2_Normalize'), { recursive: true });
  await writeJsonAtomic(join(dir, '1_Pooling', 'config.json'), { word_embedding_dimension: MINILM_SHAPE.hidden, pooling_mode_mean_tokens: true });
  await writeJsonAtomic(join(dir, 'sentence_bert_config.json'), { max_seq_length: MINILM_MAX_TOKENS, do_lower_case: false });
  if (onnx) {
    const model = Bert.fromCheckpoint(config, weights, heads);
    await writeFileAtomic(join(dir, 'onnx', 'model.onnx'), emitModel(embeddingGraph(model)).bytes);
  }
  return [...weights.values()].reduce((n, t) => n + t.data.length, 0);
}
