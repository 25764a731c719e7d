/**
 * Images: the MNIST diffusion and GAN samplers through /v1/images/generations (routes/images.ts): a digit (or all
 * ten, one row each) and classifier-free guidance for the diffusion model; GANs and VAEs draw from noise.
 */
import { useState } from 'preact/hooks';
import { ApiFailure, errorText, postJson } from '../api';
import { ErrorLine, ModelPicker, NumberField, SliderField, useModels } from '../components/controls';

interface Generated {
  data: { b64_json: string; revised_prompt: string }[];
  seed: number;
}

const IMAGE_KINDS = ['image'];
/** The body fields only a class-conditional (diffusion) model takes. */
const CONDITIONAL = /^'(digit|guidance|steps|sampler|eta)' needs a class-conditional model/;

export function ImagesPage() {
  const { models, error: modelsError, model, setModel } = useModels(IMAGE_KINDS);
  // Models the server said draw from noise: the digit controls are hidden for them.
  const [unconditional, setUnconditional] = useState<ReadonlySet<string>>(new Set());
  const [prompt, setPrompt] = useState('');
  const [digit, setDigit] = useState('all');
  const [count, setCount] = useState<number | ''>(4);
  const [useGuidance, setUseGuidance] = useState(true);
  const [guidance, setGuidance] = useState(3);
  const [steps, setSteps] = useState<number | ''>('');
  const [seed, setSeed] = useState<number | ''>(0);
  const [images, setImages] = useState<{ pngs: string[]; columns: number; described: string; rowLabels: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [took, setTook] = useState<string | null>(null);
  const conditional = !unconditional.has(model);

  async function generate(e: Event): Promise<void> {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const started = performance.now();
    const n = count === '' ? 1 : count;
    const body = {
      model,
      prompt,
      n,
      response_format: 'b64_json',
      ...(conditional && digit !== 'prompt' && { digit: digit === 'all' ? 'all' : Number(digit) }),
      ...(conditional && useGuidance && { guidance }),
      ...(conditional && steps !== '' && { steps }),
      ...(seed !== '' && { seed }),
    };
    try {
      const answer = await postJson<Generated>('/v1/images/generations', body);
      const columns = conditional && digit === 'all' ? n : Math.min(answer.data.length, 10);
      setImages({ pngs: answer.data.map((d) => d.b64_json), columns, described: answer.data[0]?.revised_prompt ?? '', rowLabels: conditional && digit === 'all' });
      setTook(`${answer.data.length} images in ${((performance.now() - started) / 1000).toFixed(2)} s, seed ${answer.seed}`);
    } catch (err) {
      if (err instanceof ApiFailure && CONDITIONAL.test(err.message.replace(/^\d+: /, ''))) {
        setUnconditional(new Set([...unconditional, model]));
        setError(`${err.message.replace(/^\d+: /, '')}: the digit controls are hidden for it; Generate again.`);
      } else setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="page images">
      <header>
        <h1>Images</h1>
        <ModelPicker models={models} value={model} onChange={setModel} label="Sampler" />
      </header>
      <ErrorLine error={modelsError} />
      {models.length === 0 && !modelsError && <p class="hint">No image model is served: start forja serve with --image-model RUN_DIR (a diffusion, GAN, DCGAN or VAE run).</p>}
      <form class="controls inline" onSubmit={generate}>
        {conditional && (
          <>
            <label class="field" title="the digit the diffusion model draws; 'all' draws a row of each">
              digit
              <select value={digit} onChange={(e) => setDigit(e.currentTarget.value)} data-testid="digit">
                <option value="all">all (a row each)</option>
                {Array.from({ length: 10 }, (_, d) => (
                  <option value={String(d)}>{d}</option>
                ))}
                <option value="prompt">from the prompt</option>
              </select>
            </label>
            {digit === 'prompt' && (
              <label class="field">
                prompt
                <input value={prompt} placeholder='"7", "a seven", "un siete"' onInput={(e) => setPrompt(e.currentTarget.value)} />
              </label>
            )}
          </>
        )}
        <NumberField label={conditional && digit === 'all' ? 'per digit' : 'images'} value={count} onChange={setCount} min={1} max={conditional && digit === 'all' ? 10 : 100} step={1} />
        {conditional && (
          <>
            <label class="field check" title="classifier-free guidance: how strongly the drawing follows the digit (off: the model's default)">
              <input type="checkbox" checked={useGuidance} onChange={(e) => setUseGuidance(e.currentTarget.checked)} /> guidance
            </label>
            {useGuidance && <SliderField label="scale" value={guidance} onChange={setGuidance} min={0} max={10} step={0.5} />}
            <NumberField label="steps" value={steps} onChange={setSteps} min={1} max={1000} step={1} placeholder="default" title="denoising steps (DDIM)" />
          </>
        )}
        <NumberField label="seed" value={seed} onChange={setSeed} min={0} step={1} placeholder="random" />
        <button type="submit" disabled={busy || !model} data-testid="generate">
          {busy ? 'Drawing…' : 'Generate'}
        </button>
      </form>
      <ErrorLine error={error} />
      {took && (
        <p class="stats">
          {images?.described} — {took}
        </p>
      )}
      <div class="grid" data-testid="image-grid" style={{ gridTemplateColumns: `${images?.rowLabels ? '28px ' : ''}repeat(${images?.columns ?? 10}, 84px)` }}>
        {(images?.pngs ?? []).map((b64, i) => (
          <>
            {images!.rowLabels && i % images!.columns === 0 && <span class="row-label">{i / images!.columns}</span>}
            <img src={`data:image/png;base64,${b64}`} alt={`sample ${i + 1}`} width={84} height={84} />
          </>
        ))}
      </div>
    </div>
  );
}
