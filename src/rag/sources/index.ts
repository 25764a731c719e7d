/**
 * Reading the sources of an ingest: a plan's files, and the documents of each BEIR corpus, as items whose
 * id and hash are known before their text is extracted. Every problem is reported through `onSkip` and
 * reading goes on; only a named path that does not exist throws (from planSources).
 */
import { beirItems } from './beir.js';
import { readFileSource, type SourceItem } from './files.js';
import { SourceSkipError, type SkippedSource, type SourceDocument } from './types.js';
import { planSources, type SourcePlan } from './walk.js';

export { beirDocument } from './beir.js';
export { looksBinary, sha256, type SourceItem } from './files.js';
export { htmlText } from './html.js';
export { markdownHeadings } from './markdown.js';
export { pdfText } from './pdf.js';
export { SourceSkipError, type Heading, type PageSpan, type SkipReason, type SkippedSource, type SourceDocument, type SourceFormat } from './types.js';
export { formatOf, inScope, planSources, type SourceFile, type SourcePlan, type SyncScope } from './walk.js';

/** The items of `plan` in order, each id once (a later one is reported as `duplicate-id`). */
export async function* readSources(plan: SourcePlan, onSkip: (s: SkippedSource) => void): AsyncGenerator<SourceItem> {
  const owners = new Map<string, string>();
  const unique = (item: SourceItem): boolean => {
    const owner = owners.get(item.id);
    if (owner === undefined) {
      owners.set(item.id, item.path);
      return true;
    }
    onSkip({ path: item.path, reason: 'duplicate-id', message: `the id ${JSON.stringify(item.id)} is already taken by ${owner}` });
    return false;
  };
  for (const file of plan.files) {
    if (file.format === 'beir') {
      for await (const item of beirItems(file.path, (e) => onSkip(e.skipped))) if (unique(item)) yield item;
      continue;
    }
    let item: SourceItem;
    try {
      item = await readFileSource(file);
    } catch (err) {
      if (!(err instanceof SourceSkipError)) throw err;
      onSkip(err.skipped);
      continue;
    }
    if (unique(item)) yield item;
  }
}

/** Every readable document under `paths`, extracted; what cannot be read goes to `onSkip`. */
export async function* readDocuments(paths: readonly string[], onSkip: (s: SkippedSource) => void = () => {}): AsyncGenerator<SourceDocument> {
  const plan = await planSources(paths, onSkip);
  for await (const item of readSources(plan, onSkip)) {
    try {
      yield await item.load();
    } catch (err) {
      if (!(err instanceof SourceSkipError)) throw err;
      onSkip(err.skipped);
    }
  }
}
