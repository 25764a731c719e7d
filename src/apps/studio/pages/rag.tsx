/** RAG: ask /v1/rag/ask; the answer cites sources, and a click on one shows its passage, document and page. */
import { useState } from 'preact/hooks';
import { errorText, postJson } from '../api';
import { ErrorLine, ModelPicker, NumberField, useModels } from '../components/controls';

interface Source {
  id?: string | number;
  index?: number;
  text?: string;
  content?: string;
  source?: string;
  document?: string;
  title?: string;
  page?: number | null;
  score?: number;
  heading?: string | string[];
}

interface Answer {
  answer?: string;
  text?: string;
  sources?: Source[];
  citations?: Source[];
}

const TEXT_KINDS = ['text'];

const passageOf = (s: Source): string => s.text ?? s.content ?? '';
const documentOf = (s: Source): string => s.source ?? s.document ?? s.title ?? 'source';

export function RagPage() {
  const { models, error: modelsError } = useModels(TEXT_KINDS);
  const [model, setModel] = useState('');
  const [question, setQuestion] = useState('');
  const [topK, setTopK] = useState<number | ''>(4);
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function ask(e: Event): Promise<void> {
    e.preventDefault();
    if (!question.trim()) return;
    setBusy(true);
    setError(null);
    setOpen(null);
    try {
      setAnswer(await postJson<Answer>('/v1/rag/ask', { question, ...(model && { model }), ...(topK !== '' && { top_k: topK }) }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  const sources = answer?.sources ?? answer?.citations ?? [];
  const shown = open === null ? undefined : sources[open];
  return (
    <div class="page rag">
      <header>
        <h1>RAG</h1>
        <ModelPicker models={models} value={model} onChange={setModel} label="Answering model" />
      </header>
      <ErrorLine error={modelsError} />
      <form class="row" onSubmit={ask}>
        <input class="question" value={question} placeholder="Ask the documents a question" onInput={(e) => setQuestion(e.currentTarget.value)} data-testid="question" />
        <NumberField label="passages" value={topK} onChange={setTopK} min={1} max={20} step={1} />
        <button type="submit" disabled={busy || !question.trim()}>
          {busy ? 'Searching…' : 'Ask'}
        </button>
      </form>
      <ErrorLine error={error} />
      {answer && (
        <div class="rag-body">
          <section class="answer">
            <h2>Answer</h2>
            <p>{answer.answer ?? answer.text ?? ''}</p>
            <h2>Sources</h2>
            <ol class="sources">
              {sources.map((s, i) => (
                <li>
                  <button type="button" class={`link ${open === i ? 'active' : ''}`} onClick={() => setOpen(open === i ? null : i)} data-testid="source">
                    [{s.index ?? i + 1}] {documentOf(s)}
                    {s.page != null && `, page ${s.page}`}
                    {s.score !== undefined && <span class="score"> score {s.score.toFixed(3)}</span>}
                  </button>
                </li>
              ))}
            </ol>
          </section>
          {shown && (
            <section class="passage" data-testid="passage">
              <h2>
                {documentOf(shown)}
                {shown.page != null && <span>, page {shown.page}</span>}
              </h2>
              {shown.heading && <p class="heading">{Array.isArray(shown.heading) ? shown.heading.join(' › ') : shown.heading}</p>}
              <blockquote>{passageOf(shown)}</blockquote>
            </section>
          )}
        </div>
      )}
    </div>
  );
}
