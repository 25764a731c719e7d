/**
 * What retrieval needs from an embedding model and a reranker. Architectures in src/models implement
 * them (sentence-transformers BERT, cross-encoders); src/rag only talks to these.
 */

/** Which side of a retrieval pair a text is on: e5 and bge prefix queries and passages differently. */
export type EmbeddingRole = 'query' | 'passage';

export interface TokenCounter {
  /** Tokens the model's own tokenizer makes of `text`, special tokens excluded. */
  countTokens(text: string): number;
}

export interface TextEmbedder extends TokenCounter {
  /** Names the model in stores and error messages (hub id or directory). */
  readonly modelId: string;
  readonly dimension: number;
  /** Longest input in tokens, special tokens included; longer inputs are truncated. */
  readonly maxTokens: number;
  /** One vector per text, in order; L2-normalised when the model ends in a Normalize module. */
  embed(texts: readonly string[], role?: EmbeddingRole): Promise<Float32Array[]>;
  release?(): Promise<void>;
}

export interface TextReranker {
  readonly modelId: string;
  readonly maxTokens: number;
  /** One relevance score per passage for `query` (higher is more relevant; raw logits). */
  score(query: string, passages: readonly string[]): Promise<number[]>;
  release?(): Promise<void>;
}
