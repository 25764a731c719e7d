/** RAG: ask /v1/rag/ask; the answer cites sources, and a click on one shows its passage, document and page. */
import { useState } from 'preact/hooks';
import { errorText, postJson } from '../api';
import { ErrorLine, ModelPicker, NumberField, useModels } from '../components/controls';

/** A numbered source of /v1/rag/ask's answer (routes/rag.ts's RagSource). */
interface Source {
  number: number;
  document_id: string;
  path: string;
  title?: string;
  page?: number;
  headings: string[];
  start: number;
  end: number;
  score: number;
  text: string;
  cited: boolean;
}

interface Answer {
  outcome: string;
  reason?: string;
  answer: string;
  sources: Source[];
  cited: number[];
  usage?: { prompt_tokens: number; completion_tokens: number };
}

const TEXT_KINDS = ['text'];
/** '' leaves the mode to the server (its store's default). */
const MODES = ['', 'hybrid', 'bm25', 'dense'] as const;

const documentOf = (s: Source): string => s.title ?? s.path;

export function RagPage() {
  const { models, error: modelsError, model, setModel } = useModels(TEXT_KINDS);
  const [question, setQuestion] = useState('');
  const [topK, setTopK] = useState<number | ''>(5);
  const [mode, setMode] = useState<(typeof MODES)[number]>('');
  const [maxTokens, setMaxTokens] = useState<number | ''>('');
  const [instructions, setInstructions] = useState('');
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
      setAnswer(await postJson<Answer>('/v1/rag/ask', {
          question,
          ...(mode && { mode }),
          ...(model && { model }),
          ...(topK !== '' && { k: topK }),
          ...(maxTokens !== '' && { max_tokens: maxTokens }),
          ...(instructions.trim() && { instructions }),
        }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  const sources = answer?.sources ?? [];
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
        <NumberField label="passages" value={topK} onChange={setTopK} min={1} max={50} step={1} />
        <label class="field">
          retrieval
          <select value={mode} onChange={(e) => setMode(e.currentTarget.value as (typeof MODES)[number])}>
            {MODES.map((m) => (
              <option value={m}>{m || 'default'}</option>
            ))}
          </select>
        </label>
        <NumberField label="max tokens" value={maxTokens} onChange={setMaxTokens} min={1} step={1} placeholder="default" />
        <label class="field" title="replaces the default instructions before the sources (short ones leave room in a small model's context)">
          instructions
          <input value={instructions} placeholder="default" onInput={(e) => setInstructions(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy || !question.trim()} data-testid="ask">
          {busy ? 'Searching…' : 'Ask'}
        </button>
      </form>
      <ErrorLine error={error} />
      {answer && (
        <div class="rag-body">
          <section class="answer">
            <h2>Answer</h2>
            <p data-testid="answer">{answer.answer}</p>
            {answer.outcome !== 'answered' && answer.reason && <p class="hint">{answer.reason}</p>}
            <h2>Sources</h2>
            <ol class="sources">
              {sources.map((s, i) => (
                <li>
                  <button type="button" class={`link ${open === i ? 'active' : ''}`} onClick={() => setOpen(open === i ? null : i)} data-testid="source">
                    [{s.number}] {documentOf(s)}
                    {s.page !== undefined && `, page ${s.page}`}
                    {s.cited && <span class="badge done">cited</span>}
                    <span class="score"> score {s.score.toFixed(3)}</span>
                  </button>
                </li>
              ))}
            </ol>
          </section>
          {shown && (
            <section class="passage" data-testid="passage">
              <h2>
                {documentOf(shown)}
                {shown.page !== undefined && <span>, page {shown.page}</span>}
              </h2>
              <p class="heading">
                {shown.path}
                {shown.headings.length > 0 && ` › ${shown.headings.join(' › ')}`} (characters {shown.start}–{shown.end})
              </p>
              <blockquote>{shown.text}</blockquote>
            </section>
          )}
        </div>
      )}
    </div>
  );
}
