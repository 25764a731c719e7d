/** BERT's config.json, typed. Only what the encoder computes is read; the rest (dropout rates, ids) is ignored. */
import { ACTIVATIONS } from '../transformer/layers.js';
import { architectureOf, ConfigError, ConfigReader, type ConfigJson } from '../transformer/config.js';

/** Architectures whose checkpoints hold a BERT encoder (heads other than the classifier are ignored). */
export const BERT_ARCHITECTURES = ['BertModel', 'BertForSequenceClassification', 'BertForMaskedLM', 'BertForPreTraining'] as const;
export type BertArchitecture = (typeof BERT_ARCHITECTURES)[number];

export interface BertConfig {
  architecture: BertArchitecture;
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  /** HF name, a key of ACTIVATIONS ("gelu" is the exact, erf form). */
  hiddenAct: string;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  /** Classifier outputs (BertForSequenceClassification); 2 when the config says nothing, as in transformers. */
  numLabels: number;
  initializerRange: number;
}

/** `where` names the file in errors (e.g. "/path/config.json"). */
export function parseBertConfig(json: ConfigJson, where = 'config.json'): BertConfig {
  const name = architectureOf(json, where);
  if (!(BERT_ARCHITECTURES as readonly string[]).includes(name)) {
    const type = typeof json.model_type === 'string' ? ` (model_type "${json.model_type}")` : '';
    throw new ConfigError(`${where}: architecture "${name}"${type} is not BERT (supported: ${BERT_ARCHITECTURES.join(', ')})`);
  }
  const c = new ConfigReader(json, `${name} ${where}`);
  const hiddenSize = c.int('hidden_size');
  const numAttentionHeads = c.int('num_attention_heads');
  if (hiddenSize % numAttentionHeads !== 0) {
    throw new ConfigError(`${c.where}: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numAttentionHeads}`);
  }
  c.require('hidden_act', Object.keys(ACTIVATIONS), 'gelu');
  c.require('position_embedding_type', ['absolute'], 'absolute');
  c.require('is_decoder', [false], false);
  c.require('add_cross_attention', [false], false);
  const labels = json.id2label !== null && typeof json.id2label === 'object' ? Object.keys(json.id2label).length : undefined;
  return {
    architecture: name as BertArchitecture,
    vocabSize: c.int('vocab_size'),
    hiddenSize,
    numHiddenLayers: c.int('num_hidden_layers'),
    numAttentionHeads,
    intermediateSize: c.int('intermediate_size'),
    hiddenAct: c.string('hidden_act', 'gelu'),
    maxPositionEmbeddings: c.int('max_position_embeddings'),
    typeVocabSize: c.int('type_vocab_size', 2),
    layerNormEps: c.number('layer_norm_eps', 1e-12),
    numLabels: c.int('num_labels', labels ?? 2),
    initializerRange: c.number('initializer_range', 0.02),
  };
}

/** The shape of a BERT to build from nothing (random weights: benchmarks, training from scratch). */
export interface BertShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocabSize: number;
  maxPositions: number;
}

/** config.json of a BertModel as transformers writes it. */
export function bertConfigJson(shape: BertShape, architecture: BertArchitecture = 'BertModel'): ConfigJson {
  return {
    architectures: [architecture],
    model_type: 'bert',
    vocab_size: shape.vocabSize,
    hidden_size: shape.hidden,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    intermediate_size: shape.intermediate,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: shape.maxPositions,
    type_vocab_size: 2,
    initializer_range: 0.02,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
  };
}
