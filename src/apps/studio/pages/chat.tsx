/** Chat: streamed answers from /v1/chat/completions, Stop (aborts the fetch, which cancels the generation), Regenerate. */
import { useRef, useState } from 'preact/hooks';
import { errorText, isAbort, sse } from '../api';
import { ErrorLine, ModelPicker, NumberField, SliderField, useModels } from '../components/controls';

interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

interface Chunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
}

const TEXT_KINDS = ['text', 'rag'];

export function ChatPage() {
  const { models, error: modelsError, model, setModel } = useModels(TEXT_KINDS);
  const [system, setSystem] = useState('');
  const [messages, setMessages] = useState<Message[]>([]);
  const [input, setInput] = useState('');
  const [temperature, setTemperature] = useState(0.8);
  const [topP, setTopP] = useState(1);
  const [maxTokens, setMaxTokens] = useState<number | ''>(128);
  const [seed, setSeed] = useState<number | ''>('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [stats, setStats] = useState<string | null>(null);
  const [updates, setUpdates] = useState(0);
  const abort = useRef<AbortController | null>(null);

  async function run(history: Message[]): Promise<void> {
    const controller = new AbortController();
    abort.current = controller;
    setBusy(true);
    setError(null);
    setStats(null);
    setUpdates(0);
    setMessages([...history, { role: 'assistant', content: '' }]);
    const body = {
      model,
      messages: [...(system.trim() ? [{ role: 'system', content: system }] : []), ...history],
      stream: true,
      stream_options: { include_usage: true },
      temperature,
      top_p: topP,
      ...(maxTokens !== '' && { max_tokens: maxTokens }),
      ...(seed !== '' && { seed }),
    };
    const started = performance.now();
    let first: number | undefined;
    let text = '';
    let finish: string | null = null;
    let usage: Chunk['usage'] = null;
    try {
      for await (const event of sse('/v1/chat/completions', body, controller.signal)) {
        if (event.data === '[DONE]') break;
        const chunk = JSON.parse(event.data) as Chunk;
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices?.[0];
        if (choice?.finish_reason) finish = choice.finish_reason;
        const delta = choice?.delta?.content;
        if (!delta) continue;
        first ??= performance.now();
        text += delta;
        setMessages([...history, { role: 'assistant', content: text }]);
        setUpdates((n) => n + 1);
      }
      const seconds = (performance.now() - started) / 1000;
      const ttft = first === undefined ? '' : `, first token after ${Math.round(first - started)} ms`;
      setStats(usage ? `${usage.completion_tokens} tokens in ${seconds.toFixed(2)} s (${(usage.completion_tokens / seconds).toFixed(1)} tokens/s${ttft}), prompt ${usage.prompt_tokens} tokens${finish ? `, finish: ${finish}` : ''}` : null);
    } catch (err) {
      if (isAbort(err)) setStats(`stopped after ${text.length} characters`);
      else setError(errorText(err));
    } finally {
      abort.current = null;
      setBusy(false);
    }
  }

  function send(e: Event): void {
    e.preventDefault();
    const content = input.trim();
    if (!content || busy || !model) return;
    setInput('');
    void run([...messages.filter((m) => m.content !== ''), { role: 'user', content }]);
  }

  function regenerate(): void {
    const lastUser = messages.map((m) => m.role).lastIndexOf('user');
    if (lastUser < 0 || busy) return;
    void run(messages.slice(0, lastUser + 1));
  }

  return (
    <div class="page chat">
      <header>
        <h1>Chat</h1>
        <ModelPicker models={models} value={model} onChange={setModel} label="Model / adapter" />
      </header>
      <ErrorLine error={modelsError} />
      <div class="chat-body">
        <section class="transcript" data-testid="transcript" data-updates={updates} data-busy={busy ? 'yes' : 'no'}>
          {messages.length === 0 && <p class="hint">Type a message below. Answers stream in token by token.</p>}
          {messages.map((m, i) => (
            <div class={`message ${m.role}`} data-testid={m.role === 'assistant' ? 'assistant-message' : 'user-message'}>
              <div class="role">{m.role}</div>
              <div class="text">
                {m.content}
                {busy && i === messages.length - 1 && <span class="cursor">▍</span>}
              </div>
            </div>
          ))}
          {stats && <p class="stats" data-testid="chat-stats">{stats}</p>}
          <ErrorLine error={error} />
        </section>
        <aside class="controls">
          <h2>Sampling</h2>
          <SliderField label="temperature" value={temperature} onChange={setTemperature} min={0} max={2} step={0.05} title="0 picks the most likely token every time" />
          <SliderField label="top_p" value={topP} onChange={setTopP} min={0.05} max={1} step={0.05} title="sample from the smallest set of tokens whose probabilities add up to this" />
          <NumberField label="max tokens" value={maxTokens} onChange={setMaxTokens} min={1} step={1} placeholder="to the context" />
          <NumberField label="seed" value={seed} onChange={setSeed} min={0} step={1} placeholder="random" title="the same seed and settings give the same answer" />
          <label class="field">
            system prompt
            <textarea rows={3} value={system} onInput={(e) => setSystem(e.currentTarget.value)} placeholder="optional" />
          </label>
          <button type="button" class="secondary" onClick={() => setMessages([])} disabled={busy}>
            Clear chat
          </button>
        </aside>
      </div>
      <form class="composer" onSubmit={send}>
        <textarea
          rows={2}
          value={input}
          placeholder="Message (Enter sends, Shift+Enter is a new line)"
          data-testid="chat-input"
          onInput={(e) => setInput(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) send(e);
          }}
        />
        {busy ? (
          <button type="button" class="stop" data-testid="stop" onClick={() => abort.current?.abort()}>
            Stop
          </button>
        ) : (
          <button type="submit" data-testid="send" disabled={!model || !input.trim()}>
            Send
          </button>
        )}
        <button type="button" class="secondary" data-testid="regenerate" onClick={regenerate} disabled={busy || !messages.some((m) => m.role === 'user')}>
          Regenerate
        </button>
      </form>
    </div>
  );
}
