/**
 * The store interface every backend implements (SQLite file, PostgreSQL URL). Retrieval logic
 * (BM25 scoring, fusion, reranking) lives above it in src/rag, so both backends rank identically.
 */

export interface DocumentInput {
  /** Stable id: the path relative to the ingested root, or a BEIR `_id`. */
  id: string;
  path: string;
  title?: string;
  /** Content hash of the source bytes; unchanged hashes are skipped on re-ingest. */
  hash: string;
  chunks: ChunkInput[];
}

export interface ChunkSource {
  /** Character offsets [start, end) into the document's extracted text. */
  start: number;
  end: number;
  /** 1-based PDF page of `start`, when the source has pages. */
  page?: number;
  /** Headings above the chunk, outermost first (Markdown/HTML headings, a BEIR title); one it opens with included. */
  headings: string[];
}

export interface ChunkInput extends ChunkSource {
  /** Position of the chunk within its document, from 0. */
  ordinal: number;
  text: string;
  /** Analyzed term -> frequency, from src/rag/lexical; the chunk's BM25 length is the sum. */
  terms: ReadonlyMap<string, number>;
  /** Present when the store has an embedding model bound. */
  vector?: Float32Array;
}

export interface ChunkRecord extends ChunkSource {
  id: number;
  docId: string;
  path: string;
  title?: string;
  ordinal: number;
  text: string;
}

export interface ChunkFilter {
  /** Glob over document paths (`*` within a segment, `**` across, `?` one character). */
  pathGlob?: string;
  docIds?: readonly string[];
  /** Inclusive 1-based page range; chunks without a page never match a page filter. */
  pages?: { from?: number; to?: number };
}

/**
 * One term's postings as parallel typed arrays, by ascending chunk id: one object per term rather than
 * per posting, since a query over common terms reads ~50,000 postings and objects for each made
 * garbage collection most of BM25's latency tail. The document frequency is `chunkIds.length`.
 */
export interface TermPostings {
  readonly chunkIds: Float64Array;
  /** Term frequency in each chunk. */
  readonly tfs: Uint32Array;
  /** Each chunk's length in terms. */
  readonly lengths: Uint32Array;
}

export interface LexicalStats {
  chunkCount: number;
  averageLength: number;
  /** For each asked term that occurs in a selected chunk: its postings. */
  postings: Map<string, TermPostings>;
}

export interface VectorHit {
  chunkId: number;
  /** Cosine similarity. */
  score: number;
}

/** What a store was built with; a store refuses writes and dense queries from another embedder. */
export interface StoreSettings {
  /** Names the text analyzer the term index was built with (src/rag/lexical). */
  analyzer: string;
  embedModel?: string;
  dimension?: number;
  chunkSize?: number;
  overlap?: number;
}

export interface StoreInfo extends StoreSettings {
  location: string;
  documents: number;
  chunks: number;
}

export interface Store {
  /** The file path or URL (password removed) the store was opened from. */
  readonly location: string;
  info(): Promise<StoreInfo>;
  /**
   * Records the settings on first use; afterwards refuses different ones with a StoreMismatchError naming
   * both. Settings left undefined are not compared (a BM25-only query may open a dense store).
   */
  bind(settings: StoreSettings): Promise<void>;
  /** Every document's id, path and content hash. */
  documents(): Promise<{ id: string; path: string; hash: string }[]>;
  /** One transaction: each document's old chunks are replaced by its new ones. */
  writeDocuments(docs: readonly DocumentInput[]): Promise<void>;
  /** One transaction. */
  deleteDocuments(ids: readonly string[]): Promise<void>;
  lexicalStats(terms: readonly string[], filter?: ChunkFilter): Promise<LexicalStats>;
  /** Exact or ANN top-k by cosine similarity, best first. */
  vectorSearch(query: Float32Array, k: number, filter?: ChunkFilter): Promise<VectorHit[]>;
  chunks(ids: readonly number[]): Promise<ChunkRecord[]>;
  vectors(ids: readonly number[]): Promise<Map<number, Float32Array>>;
  close(): Promise<void>;
}
