/**
 * What goes wrong with fine-tuning data, as facts an app can word: a bad record (file, line, reason)
 * that is skipped and counted, or thrown as `BadRecordError` in strict mode, and `FinetuneDataError`
 * for a dataset that cannot train at all.
 */

/** Why a record was skipped. */
export type SkipReason =
  /** The line is not JSON. */
  | 'invalid-json'
  /** The bytes are not UTF-8. */
  | 'invalid-utf8'
  /** JSON, but not an object with text, prompt/completion or messages. */
  | 'unknown-format'
  /** A field the format needs is absent (a prompt without a completion, a message without a role...). */
  | 'missing-field'
  /** A field has the wrong type (a number for a string, messages not an array...). */
  | 'wrong-type'
  /** A text, prompt, completion or message content that is empty. */
  | 'empty-content'
  /** A chat message whose role is not system, user, assistant or tool. */
  | 'unknown-role'
  /** A chat without an assistant message: nothing to learn from. */
  | 'no-assistant'
  /** Nothing left to learn after truncation (the prompt fills maxLength) or a text of one token. */
  | 'no-supervised-tokens'
  /** The chat template fails on the conversation or renders its prefixes inconsistently. */
  | 'chat-template';

/** Where a record came from: a JSONL line, or a whole text file (no line). */
export interface RecordLocation {
  file: string;
  /** 1-based line of a JSONL record; absent for a text file. */
  line?: number;
}

export interface RecordProblem extends RecordLocation {
  reason: SkipReason;
  /** What is wrong, without the location (e.g. `unknown role "bot" in messages[1]`). */
  message: string;
}

/** "file:line" (or "file" for a text file). */
export function formatLocation(loc: RecordLocation): string {
  return loc.line === undefined ? loc.file : `${loc.file}:${loc.line}`;
}

/** A record that cannot be used, thrown in strict mode at the first one. */
export class BadRecordError extends Error {
  override name = 'BadRecordError';
  constructor(readonly problem: RecordProblem) {
    super(`${formatLocation(problem)}: ${problem.message}`);
  }
  get file(): string {
    return this.problem.file;
  }
  get line(): number | undefined {
    return this.problem.line;
  }
  get reason(): SkipReason {
    return this.problem.reason;
  }
}

export type FinetuneDataFailure =
  /** A path that does not exist, cannot be read, or is a file of a kind that is not data. */
  | 'unreadable'
  /** No usable record at all (every one skipped, or the files hold none). */
  | 'no-data'
  /** Records exist, but every label is masked (prompts as long as maxLength...). */
  | 'all-masked'
  /** The tokenizer lacks what the data needs (an eos token between documents, a chat template). */
  | 'tokenizer'
  /** An option out of range (maxLength, validation, seed...). */
  | 'option';

/** A dataset that cannot be trained on. `files` are the data files concerned. */
export class FinetuneDataError extends Error {
  override name = 'FinetuneDataError';
  constructor(
    readonly reason: FinetuneDataFailure,
    message: string,
    readonly files: readonly string[] = [],
    /** The option at fault, for reason 'option' (its name in the options object). */
    readonly option?: string,
  ) {
    super(message);
  }
}

/** How many records were skipped, by reason, and the first few of them. */
export interface SkipReport {
  total: number;
  byReason: Partial<Record<SkipReason, number>>;
  /** The first `keep` problems in reading order. */
  first: RecordProblem[];
}

/**
 * Collects skipped records. In strict mode the first one throws, so a long run never starts on data
 * the user asked to be exact.
 */
export class ProblemLog {
  private readonly counts: Partial<Record<SkipReason, number>> = {};
  private readonly firstFew: RecordProblem[] = [];
  private readonly files = new Set<string>();
  total = 0;

  constructor(
    readonly strict: boolean,
    /** How many problems to keep with their location (default 10). */
    readonly keep = 10,
  ) {}

  add(problem: RecordProblem): void {
    if (this.strict) throw new BadRecordError(problem);
    this.total++;
    this.counts[problem.reason] = (this.counts[problem.reason] ?? 0) + 1;
    this.files.add(problem.file);
    if (this.firstFew.length < this.keep) this.firstFew.push(problem);
  }

  count(reason: SkipReason): number {
    return this.counts[reason] ?? 0;
  }

  /** Files with at least one skipped record, in the order first seen. */
  filesWithProblems(): string[] {
    return [...this.files];
  }

  report(): SkipReport {
    return { total: this.total, byReason: { ...this.counts }, first: this.firstFew.map((p) => ({ ...p })) };
  }
}
