/** Playground: a raw /v1/completions call with logprobs; each token is coloured by its probability, hover lists the alternatives. */
import { useState } from 'preact/hooks';
import { errorText, postJson } from '../api';
import { ErrorLine, ModelPicker, NumberField, SliderField, useModels } from '../components/controls';

interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
}

interface Completion {
  choices: { text: string; finish_reason: string | null; logprobs?: LegacyLogprobs | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number };
}

const TEXT_KINDS = ['text'];

/** Red (0.01% or less) through yellow (1%) to green (certain): a log scale, so unlikely tokens differ too. */
const colour = (p: number): string => `hsl(${Math.round(120 * Math.min(1, Math.max(0, 1 + Math.log10(p) / 4)))} 70% 85%)`;
const percent = (lp: number): string => `${(100 * Math.exp(lp)).toFixed(lp > Math.log(0.001) ? 1 : 3)}%`;
/** Spaces and newlines made visible in the alternatives list. */
const visible = (t: string): string => JSON.stringify(t).slice(1, -1).replace(/ /g, '␣');

function Token({ text, logprob, top }: { text: string; logprob: number | null; top: Record<string, number> | null }) {
  const p = logprob === null ? 1 : Math.exp(logprob);
  const alternatives = Object.entries(top ?? {}).sort((a, b) => b[1] - a[1]);
  return (
    <span class="token" style={{ background: colour(p) }} data-testid="token" data-logprob={logprob ?? 0}>
      {text}
      <span class="tip" role="tooltip">
        <b>{visible(text)}</b> {logprob === null ? '' : percent(logprob)}
        {alternatives.length > 0 && (
          <table>
            {alternatives.map(([alt, lp]) => (
              <tr class={alt === text ? 'chosen' : ''}>
                <td>{visible(alt)}</td>
                <td>{percent(lp)}</td>
              </tr>
            ))}
          </table>
        )}
      </span>
    </span>
  );
}

export function PlaygroundPage() {
  const { models, error: modelsError, model, setModel } = useModels(TEXT_KINDS);
  const [prompt, setPrompt] = useState('Once upon a time');
  const [maxTokens, setMaxTokens] = useState<number | ''>(32);
  const [temperature, setTemperature] = useState(0.7);
  const [seed, setSeed] = useState<number | ''>(0);
  const [result, setResult] = useState<Completion | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function complete(e: Event): Promise<void> {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { model, prompt, temperature, logprobs: 5, ...(maxTokens !== '' && { max_tokens: maxTokens }), ...(seed !== '' && { seed }) };
      setResult(await postJson<Completion>('/v1/completions', body));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  const choice = result?.choices[0];
  const lp = choice?.logprobs;
  const mean = lp ? lp.token_logprobs.filter((v): v is number => v !== null) : [];
  return (
    <div class="page playground">
      <header>
        <h1>Playground</h1>
        <ModelPicker models={models} value={model} onChange={setModel} />
      </header>
      <ErrorLine error={modelsError} />
      <form class="row" onSubmit={complete}>
        <textarea class="prompt" rows={4} value={prompt} onInput={(e) => setPrompt(e.currentTarget.value)} data-testid="prompt" />
        <div class="controls inline">
          <NumberField label="max tokens" value={maxTokens} onChange={setMaxTokens} min={1} step={1} />
          <SliderField label="temperature" value={temperature} onChange={setTemperature} min={0} max={2} step={0.05} />
          <NumberField label="seed" value={seed} onChange={setSeed} min={0} step={1} placeholder="random" />
          <button type="submit" disabled={busy || !model} data-testid="complete">
            {busy ? 'Completing…' : 'Complete'}
          </button>
        </div>
      </form>
      <ErrorLine error={error} />
      {choice && (
        <section class="completion">
          <p class="legend">
            <span style={{ background: colour(0.0001) }}>≤0.01%</span>
            <span style={{ background: colour(0.01) }}>1%</span>
            <span style={{ background: colour(1) }}>100%</span> — hover a token for the top alternatives.
            {mean.length > 0 && ` Mean log-probability ${(mean.reduce((a, b) => a + b, 0) / mean.length).toFixed(3)} over ${mean.length} tokens; finish: ${choice.finish_reason}.`}
          </p>
          <div class="tokens" data-testid="completion">
            <span class="prompt-echo">{prompt}</span>
            {lp ? lp.tokens.map((t, i) => <Token text={t} logprob={lp.token_logprobs[i] ?? null} top={lp.top_logprobs[i] ?? null} />) : choice.text}
          </div>
        </section>
      )}
    </div>
  );
}
