/** Form controls the pages share: the model picker (from /v1/models) and labelled number fields. */
import { useEffect, useState } from 'preact/hooks';
import { errorText, KEY_CHANGED, listModels, modelsOfKind, type ModelCard } from '../api';

/**
 * The served models of the given kinds, and the one chosen: the user's pick while it is served, else
 * the first. Derived in the same render as the list, so no request ever goes out with a stale or empty
 * model. `error` says why the list is empty when it could not be read.
 */
export function useModels(kinds: readonly string[]): { models: ModelCard[]; error: string | null; model: string; setModel(id: string): void } {
  const [state, setState] = useState<{ models: ModelCard[]; error: string | null }>({ models: [], error: null });
  const [picked, setModel] = useState('');
  useEffect(() => {
    let live = true;
    const load = (): void =>
      void listModels().then(
        (all) => live && setState({ models: modelsOfKind(all, kinds), error: null }),
        (err: unknown) => live && setState({ models: [], error: errorText(err) }),
      );
    load();
    addEventListener(KEY_CHANGED, load);
    return () => {
      live = false;
      removeEventListener(KEY_CHANGED, load);
    };
  }, [kinds.join(',')]);
  const model = state.models.some((m) => m.id === picked) ? picked : (state.models[0]?.id ?? '');
  return { ...state, model, setModel };
}

interface PickerProps {
  models: readonly ModelCard[];
  value: string;
  onChange(id: string): void;
  label?: string;
}

/** Base models and their adapters (`base:adapter`), grouped under the base. */
export function ModelPicker({ models, value, onChange, label = 'Model' }: PickerProps) {
  return (
    <label class="field">
      {label}
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)} data-testid="model">
        {models.length === 0 && <option value="">no model served</option>}
        {models.map((m) => (
          <option value={m.id}>{m.id.includes(':') ? `  ↳ ${m.id}` : m.id}</option>
        ))}
      </select>
    </label>
  );
}

interface NumberProps {
  label: string;
  value: number | '';
  onChange(value: number | ''): void;
  min?: number;
  max?: number;
  step?: number;
  placeholder?: string;
  title?: string;
}

/** A number input; an empty field is '' (the server's default). */
export function NumberField({ label, value, onChange, min, max, step, placeholder, title }: NumberProps) {
  return (
    <label class="field" title={title}>
      {label}
      <input
        type="number"
        value={value}
        min={min}
        max={max}
        step={step}
        placeholder={placeholder}
        onInput={(e) => {
          const text = e.currentTarget.value;
          onChange(text === '' ? '' : Number(text));
        }}
      />
    </label>
  );
}

/** A range with its value beside it. */
export function SliderField({ label, value, onChange, min, max, step, title }: Omit<NumberProps, 'value' | 'onChange'> & { value: number; onChange(v: number): void }) {
  return (
    <label class="field" title={title}>
      <span>
        {label} <b>{value}</b>
      </span>
      <input type="range" value={value} min={min} max={max} step={step} onInput={(e) => onChange(Number(e.currentTarget.value))} />
    </label>
  );
}

export const ErrorLine = ({ error }: { error: string | null }) => (error ? <p class="error" role="alert">{error}</p> : null);
