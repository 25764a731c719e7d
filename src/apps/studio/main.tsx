/** Forja Studio: one page per task, picked by the URL's hash (#/chat, #/runs/ID...), so the server serves only `/`. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { apiKey, setApiKey } from './api';
import { ChatPage } from './pages/chat';
import { ImagesPage } from './pages/images';
import { PlaygroundPage } from './pages/playground';
import { RagPage } from './pages/rag';
import { RunsPage } from './pages/runs';
import './style.css';

const PAGES = [
  { path: 'chat', title: 'Chat' },
  { path: 'playground', title: 'Playground' },
  { path: 'rag', title: 'RAG' },
  { path: 'images', title: 'Images' },
  { path: 'runs', title: 'Runs' },
] as const;

function currentRoute(): string[] {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  return parts[0] ? parts : ['chat'];
}

function KeyField() {
  const [key, setKey] = useState(apiKey());
  return (
    <label class="key" title="Sent as Authorization: Bearer on /v1 requests, for a server started with --api-key">
      API key
      <input
        type="password"
        value={key}
        placeholder="none"
        onInput={(e) => {
          const value = e.currentTarget.value;
          setKey(value);
          setApiKey(value);
        }}
      />
    </label>
  );
}

function App() {
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const [page, ...rest] = route;
  return (
    <div class="shell">
      <nav class="side">
        <div class="brand">
          Forja <span>Studio</span>
        </div>
        {PAGES.map((p) => (
          <a href={`#/${p.path}`} class={p.path === page ? 'active' : ''} data-page={p.path}>
            {p.title}
          </a>
        ))}
        <div class="grow" />
        <KeyField />
      </nav>
      <main class="content">
        {page === 'chat' && <ChatPage />}
        {page === 'playground' && <PlaygroundPage />}
        {page === 'rag' && <RagPage />}
        {page === 'images' && <ImagesPage />}
        {page === 'runs' && <RunsPage selected={rest[0]} />}
        {!PAGES.some((p) => p.path === page) && <p class="error">No page named {page}.</p>}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
