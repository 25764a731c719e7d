/** Images: the MNIST diffusion and GAN samplers through /v1/images/generations, shown as a grid. */
import { useState } from 'preact/hooks';
import { errorText, postJson } from '../api';
import { ErrorLine, ModelPicker, NumberField, SliderField, useModels } from '../components/controls';

interface Generated {
  data: { b64_json?: string; url?: string; revised_prompt?: string }[];
}

const IMAGE_KINDS = ['image'];

export function ImagesPage() {
  const { models, error: modelsError } = useModels(IMAGE_KINDS);
  const [model, setModel] = useState('');
  const [count, setCount] = useState<number | ''>(16);
  const [digit, setDigit] = useState<string>('any');
  const [guidance, setGuidance] = useState(3);
  const [useGuidance, setUseGuidance] = useState(true);
  const [seed, setSeed] = useState<number | ''>(0);
  const [images, setImages] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [took, setTook] = useState<string | null>(null);

  async function generate(e: Event): Promise<void> {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const started = performance.now();
    try {
      const body = {
        model,
        prompt: digit === 'any' ? '' : digit,
        n: count === '' ? 1 : count,
        response_format: 'b64_json',
        ...(digit !== 'any' && { digit: Number(digit) }),
        ...(digit !== 'any' && useGuidance && { guidance }),
        ...(seed !== '' && { seed }),
      };
      const answer = await postJson<Generated>('/v1/images/generations', body);
      setImages(answer.data.map((d) => (d.b64_json ? `data:image/png;base64,${d.b64_json}` : (d.url ?? ''))));
      setTook(`${answer.data.length} images in ${((performance.now() - started) / 1000).toFixed(2)} s`);
    } catch (err) {
      setError(errorText(err));
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
      {models.length === 0 && !modelsError && <p class="hint">No image model is served: start `forja serve` with a diffusion or GAN run directory.</p>}
      <form class="controls inline" onSubmit={generate}>
        <NumberField label="images" value={count} onChange={setCount} min={1} max={64} step={1} />
        <label class="field" title="the digit to draw (the diffusion model is conditioned on it; GANs draw any digit)">
          digit
          <select value={digit} onChange={(e) => setDigit(e.currentTarget.value)} data-testid="digit">
            <option value="any">any</option>
            {Array.from({ length: 10 }, (_, d) => (
              <option value={String(d)}>{d}</option>
            ))}
          </select>
        </label>
        <label class="field check" title="classifier-free guidance: how strongly the drawing follows the digit">
          <input type="checkbox" checked={useGuidance} onChange={(e) => setUseGuidance(e.currentTarget.checked)} /> guidance
        </label>
        <SliderField label="scale" value={guidance} onChange={setGuidance} min={0} max={10} step={0.5} />
        <NumberField label="seed" value={seed} onChange={setSeed} min={0} step={1} placeholder="random" />
        <button type="submit" disabled={busy || !model} data-testid="generate">
          {busy ? 'Drawing…' : 'Generate'}
        </button>
      </form>
      <ErrorLine error={error} />
      {took && <p class="stats">{took}</p>}
      <div class="grid" data-testid="image-grid">
        {images.map((src, i) => (
          <img src={src} alt={`sample ${i + 1}`} width={84} height={84} />
        ))}
      </div>
    </div>
  );
}
