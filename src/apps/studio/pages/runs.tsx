/**
 * Runs: every training run under the server's --runs directory, their latest metrics side by side, and one run's
 * live loss curves (server-sent events as `forja train` rewrites loss.csv), sample grids, settings and result.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, errorText, getJson, isAbort, sse } from '../api';
import { ErrorLine } from '../components/controls';
import { LossPlot, type Row } from '../components/loss-plot';

interface RunSummary {
  id: string;
  model: string | null;
  updated: number;
  rows: number;
  last: Row | null;
  finished: boolean;
}

interface RunDetail extends RunSummary {
  columns: string[];
  history: Row[];
  settings: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  config: Record<string, unknown> | null;
  images: string[];
}

const LIST_REFRESH_MS = 3000;
const RECONNECT_MS = 2000;

const format = (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : typeof v === 'object' ? JSON.stringify(v) : String(v));
const ago = (ms: number): string => {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : new Date(ms).toLocaleString();
};
const href = (id: string): string => `#/runs/${encodeURIComponent(id)}`;

/** How long after its last row a run still counts as training (a GPT run writes a row per evaluation). */
const TRAINING_MS = 5 * 60_000;

/** "finished" once run.json holds the result; "training" while rows keep coming; nothing for a run that stopped. */
function Badge({ run }: { run: RunSummary }) {
  if (run.finished) return <span class="badge done">finished</span>;
  if (Date.now() - run.updated < TRAINING_MS) return <span class="badge live" title="a row was written in the last 5 minutes">training</span>;
  return null;
}

function RunsTable({ runs, selected }: { runs: RunSummary[]; selected?: string }) {
  const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.last ?? {})))];
  return (
    <table class="runs-table" data-testid="runs-table">
      <thead>
        <tr>
          <th>run</th>
          <th>model</th>
          <th>rows</th>
          {metrics.map((m) => (
            <th>{m}</th>
          ))}
          <th>updated</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr class={r.id === selected ? 'active' : ''}>
            <td>
              <a href={href(r.id)} data-testid="run-link">
                {r.id}
              </a>
              <Badge run={r} />
            </td>
            <td>{r.model ?? '—'}</td>
            <td>{r.rows}</td>
            {metrics.map((m) => (
              <td class="num">{r.last?.[m] === undefined ? '' : format(r.last[m])}</td>
            ))}
            <td>{ago(r.updated)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function KeyValues({ title, values }: { title: string; values: Record<string, unknown> | null }) {
  if (!values) return null;
  const entries = Object.entries(values).filter(([, v]) => v !== null && typeof v !== 'object');
  if (entries.length === 0) return null;
  return (
    <section class="kv">
      <h3>{title}</h3>
      <dl>
        {entries.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{format(v)}</dd>
          </>
        ))}
      </dl>
    </section>
  );
}

/** One run, kept up to date by its event stream. */
function RunView({ id }: { id: string }) {
  const [detail, setDetail] = useState<RunDetail | null>(null);
  const [rows, setRows] = useState<Row[]>([]);
  const [columns, setColumns] = useState<string[]>([]);
  const [live, setLive] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    setDetail(null);
    setRows([]);
    setError(null);
    void (async () => {
      let current: Row[] = [];
      // A stream that ends (the server restarted, a proxy cut it) is opened again; each starts with every row.
      while (!controller.signal.aborted) {
        try {
          setLive(true);
          for await (const event of sse(`/api/runs/${encodeURIComponent(id)}/events`, undefined, controller.signal)) {
            const data = JSON.parse(event.data) as { from: number; reset?: boolean; columns: string[]; rows: Row[] } & RunDetail;
            if (event.event === 'rows') {
              current = data.reset ? data.rows : [...current.slice(0, data.from), ...data.rows];
              setRows(current);
              setColumns(data.columns);
              setError(null);
            } else if (event.event === 'run') setDetail(data);
          }
        } catch (err) {
          if (isAbort(err)) return;
          setError(errorText(err));
          if (err instanceof ApiFailure && err.status === 404) return;
        } finally {
          setLive(false);
        }
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    })();
    return () => controller.abort();
  }, [id]);

  const version = detail ? `${detail.updated}` : '';
  return (
    <section class="run" data-testid="run-view">
      <h2>
        {id} {detail?.model && <span class="muted">{detail.model}</span>} {live && <span class="badge live">live</span>}
      </h2>
      <ErrorLine error={error} />
      <LossPlot columns={columns} rows={rows} />
      {detail && (
        <>
          <div class="kv-row">
            <KeyValues title="Latest" values={rows.at(-1) ?? null} />
            <KeyValues title="Result" values={detail.result} />
            <KeyValues title="Settings" values={detail.settings} />
            <KeyValues title="Config" values={detail.config} />
          </div>
          {detail.images.length > 0 && (
            <section class="samples">
              {detail.images.map((name) => (
                <figure>
                  <img src={`/api/runs/${encodeURIComponent(id)}/images/${encodeURIComponent(name)}?v=${version}`} alt={name} data-testid="run-image" />
                  <figcaption>{name}</figcaption>
                </figure>
              ))}
            </section>
          )}
        </>
      )}
    </section>
  );
}

export function RunsPage({ selected }: { selected?: string }) {
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [dir, setDir] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    const load = () =>
      getJson<{ dir: string | null; runs: RunSummary[] }>('/api/runs').then(
        (body) => {
          if (!live) return;
          setRuns(body.runs);
          setDir(body.dir);
          setError(null);
        },
        (err: unknown) => live && setError(errorText(err)),
      );
    void load();
    const timer = setInterval(() => void load(), LIST_REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);

  return (
    <div class="page runs">
      <header>
        <h1>Runs</h1>
        {dir && <span class="muted">{dir}</span>}
      </header>
      <ErrorLine error={error} />
      {runs && dir === null && <p class="hint">Start the server with `forja serve --runs DIR` to see the training runs in DIR.</p>}
      {runs && dir !== null && runs.length === 0 && <p class="hint">No runs in {dir} yet: `forja train autoencoder --out {dir}/NAME` writes one.</p>}
      {runs && runs.length > 0 && <RunsTable runs={runs} selected={selected} />}
      {selected && <RunView key={selected} id={selected} />}
    </div>
  );
}
