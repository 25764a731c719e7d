/**
 * Forja Studio in Debian's Chromium (playwright-core, offline flags): the studio is built from src/apps/studio
 * into a temp dir, served by a real `forja serve` app (gpt2-tiny with a chat template, a --runs dir holding a real
 * `forja train autoencoder` run) on a free port. Screenshots go to a temp dir, or FORJA_STUDIO_SCREENSHOTS (docs/).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { MediaModels, mediaRoutes } from '../../../src/apps/server/media-models.js';
import { runsRoutes } from '../../../src/apps/server/runs.js';
import { ingest } from '../../../src/rag/ingest.js';
import { createStore } from '../../../src/rag/store/open.js';
import { studioRoutes } from '../../../src/apps/server/studio.js';
import { diffusionSpec } from '../../../src/models/mnist/diffusion/model.js';
import { gan } from '../../../src/models/mnist/gan.js';
import { trainRun } from '../../../src/models/mnist/run.js';
import { runLmTraining } from '../../../src/models/lm/run.js';
import { dataPath, REPO_ROOT } from '../../helpers/fixtures.js';
import { ADAPTER_MODEL, CHAT_MODEL, startServer, type TestServer } from '../server/helpers.js';
import { chromiumMissing, launchChromium, readHistory, screenshotDir, trainTinyRun, writeHistory } from './helpers.js';

// The page.evaluate callbacks run in Chromium; the Node typecheck has no DOM lib, so they see the page's globals through these.
declare const window: { seen: string[] };
declare const document: { body: unknown; querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): { length: number } };
declare const MutationObserver: new (callback: () => void) => { observe(target: unknown, options: object): void; disconnect(): void };
declare function getComputedStyle(element: unknown): { backgroundColor: string };
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  click(): void;
}
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}

/** The server asks for a key on /v1 and /api/models; the studio sends the one typed in its sidebar. */
const API_KEY = 'studio-test-key';

describe('Forja Studio in Chromium', { skip: chromiumMissing, timeout: 600_000 }, () => {
  let root: string;
  let runsDir: string;
  let shots: string;
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let media: MediaModels;
  const consoleErrors: string[] = [];
  const outsideRequests: string[] = [];
  const failedResponses: string[] = [];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'forja-studio-browser-'));
    runsDir = join(root, 'runs');
    mkdirSync(runsDir);
    shots = screenshotDir(join(root, 'shots'));
    mkdirSync(shots, { recursive: true });
    const studio = join(root, 'studio');
    await build({ configFile: join(REPO_ROOT, 'src/apps/studio/vite.config.ts'), logLevel: 'silent', build: { outDir: studio, emptyOutDir: true } });
    // For the README's pictures, a run long enough that its reconstructions look like digits.
    await (process.env.FORJA_STUDIO_SCREENSHOTS ? trainTinyRun(runsDir, 'autoencoder', 8, 5000) : trainTinyRun(runsDir, 'autoencoder', 3));
    // A tiny character GPT: its loss.csv also logs the learning rate.
    const text = readFileSync(dataPath('tinyshakespeare', 'input.txt'), 'utf8').slice(0, 20_000);
    await runLmTraining({ text, settings: { layers: 1, heads: 2, embd: 16, blockSize: 16, batchSize: 4, steps: 20, evalInterval: 5 }, outDir: join(runsDir, 'gpt-char') });
    // A tiny diffusion model (class-conditional) and a GAN (from noise), trained a few steps, as --image-model serves them.
    const tiny = { epochs: 1, batchSize: 8, lr: 2e-3, seed: 3, limit: 16 };
    await trainRun(diffusionSpec({ channels: [8, 16], groups: 4, embedDim: 16 }, { steps: 2, guidance: 2 }), { ...tiny, outDir: join(root, 'digits') });
    await trainRun(gan, { ...tiny, outDir: join(root, 'noise-gan') });
    // A BM25 store of two small documents for the RAG page.
    const docs = join(root, 'docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'tower.md'), '# Paris\n\n## The tower\n\nThe tower is 330 metres tall and was finished in 1889.\n');
    writeFileSync(join(docs, 'bridge.md'), '# London\n\n## The bridge\n\nThe bridge opened in 1894 and crosses the river.\n');
    const storePath = join(root, 'store.db');
    const store = await createStore(storePath);
    await ingest(store, docs);
    await store.close();
    media = await MediaModels.load({ rag: storePath, imageModels: [join(root, 'digits'), join(root, 'noise-gan')] });
    server = await startServer({ apiKey: API_KEY, adapter: true, routes: [studioRoutes({ dir: studio }), runsRoutes({ dir: runsDir, pollMs: 100 }), mediaRoutes(media)] });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && consoleErrors.push(m.text()));
    page.on('response', (r) => r.status() >= 400 && failedResponses.push(`${r.status()} ${r.url().slice(server.url.length)}`));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('request', (r) => !r.url().startsWith(server.url) && !r.url().startsWith('data:') && outsideRequests.push(r.url()));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await media?.release();
    rmSync(root, { recursive: true, force: true });
  });

  test('chat: with the API key typed in, a typed message gets an answer that streams in token by token', async () => {
    await page.goto(`${server.url}/#/chat`);
    // Without the key the model list is refused, and the page says so; typing the key reads it again.
    await page.getByRole('alert').filter({ hasText: 'needs the API key' }).waitFor();
    await page.getByLabel('API key').fill(API_KEY);
    await page.locator('[data-testid=model] option', { hasText: CHAT_MODEL }).first().waitFor({ state: 'attached' });
    assert.equal(await page.getByRole('alert').count(), 0);
    assert.equal(await page.locator('[data-testid=model]').inputValue(), CHAT_MODEL);
    // The picker offers the base, its LoRA adapter (base:adapter) and the RAG models; the images and GAN runs are not chat models.
    const options = await page.locator('[data-testid=model] option').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
    assert.deepEqual(options.sort(), [CHAT_MODEL, ADAPTER_MODEL, 'rag:' + CHAT_MODEL, 'rag:' + ADAPTER_MODEL].sort());
    await page.getByLabel('seed').fill('7');
    await page.getByLabel('max tokens').fill('48');
    // Every text the answer shows, as the DOM changes: streaming means several, each extending the last.
    await page.evaluate(() => {
      const seen: string[] = [];
      window.seen = seen;
      new MutationObserver(() => {
        const text = document.querySelector('[data-testid=assistant-message] .text')?.textContent?.replace('▍', '') ?? '';
        if (text && text !== seen.at(-1)) seen.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByTestId('chat-input').fill('Tell me a story about a forge.');
    await page.getByTestId('chat-input').press('Enter');
    await page.getByTestId('chat-stats').waitFor({ timeout: 60_000 });
    const seen = await page.evaluate(() => window.seen);
    const final = (await page.getByTestId('assistant-message').last().locator('.text').textContent())!;
    assert.ok(seen.length > 1, `the answer appeared in ${seen.length} update(s): ${JSON.stringify(seen)}`);
    assert.ok(seen.every((text, i) => i === 0 || text.startsWith(seen[i - 1]!)), 'each update extends the text before it');
    assert.equal(seen.at(-1), final);
    assert.ok(Number(await page.getByTestId('transcript').getAttribute('data-updates')) > 1);
    assert.match((await page.getByTestId('chat-stats').textContent())!, /\d+ tokens in [\d.]+ s/);
    assert.equal(await page.getByTestId('user-message').locator('.text').textContent(), 'Tell me a story about a forge.');
    await page.screenshot({ path: join(shots, 'studio-chat.png') });
  });

  test('chat: Stop aborts the stream and the server frees the sequence; Regenerate answers the same message again', async () => {
    await page.getByLabel('max tokens').fill('100');
    await page.getByTestId('regenerate').click();
    // Stop as soon as the first token shows, from inside the page so no round trip lets the answer finish.
    const clicked = await page.evaluate(
      () =>
        new Promise<boolean>((resolve) => {
          const observer = new MutationObserver(() => {
            const stop = document.querySelector('[data-testid=stop]');
            const text = document.querySelector('[data-testid=assistant-message]:last-of-type .text')?.textContent?.replace('▍', '');
            if (stop && text) {
              observer.disconnect();
              stop.click();
              resolve(true);
            }
          });
          observer.observe(document.body, { subtree: true, childList: true, characterData: true });
          setTimeout(() => resolve(false), 30_000);
        }),
    );
    assert.ok(clicked, 'Stop was on screen while the first tokens streamed in');
    await page.getByTestId('send').waitFor();
    assert.match((await page.getByTestId('chat-stats').textContent())!, /^stopped after \d+ characters/);
    assert.equal(await page.getByTestId('user-message').count(), 1, 'Regenerate kept the one user message');
    const deadline = Date.now() + 10_000;
    while (server.engine.stats().running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.engine.stats().running, 0, 'the cancelled sequence left the batch');
  });

  test('playground: completion tokens coloured by probability, hover shows the alternatives', async () => {
    await page.goto(`${server.url}/#/playground`);
    await page.locator('[data-testid=model] option', { hasText: CHAT_MODEL }).first().waitFor({ state: 'attached' });
    await page.getByTestId('prompt').fill('The forge glowed');
    await page.getByLabel('max tokens').fill('12');
    await page.getByTestId('complete').click();
    const tokens = page.getByTestId('token');
    await tokens.first().waitFor({ timeout: 60_000 });
    assert.equal(await tokens.count(), 12);
    const logprobs = await tokens.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-logprob'))));
    assert.ok(logprobs.every((lp) => Number.isFinite(lp) && lp <= 0), `log-probabilities ${logprobs.join(', ')}`);
    // The colour is the probability's: red for the least likely token, greener for the most likely.
    const hues = await tokens.evaluateAll((els) => els.map((e) => getComputedStyle(e).backgroundColor));
    const least = logprobs.indexOf(Math.min(...logprobs));
    const most = logprobs.indexOf(Math.max(...logprobs));
    if (logprobs[most]! - logprobs[least]! > 1) assert.notEqual(hues[least], hues[most]);
    await tokens.nth(2).hover();
    const tip = tokens.nth(2).locator('.tip');
    await tip.waitFor({ state: 'visible' });
    assert.ok((await tip.locator('tr').count()) >= 2, 'the tooltip lists the top alternatives');
    await page.screenshot({ path: join(shots, 'studio-playground.png') });
  });

  test("runs: a run's loss plot draws its rows and grows live as loss.csv is rewritten", async () => {
    // A second run "in progress": the real run's first epoch now, its later epochs written while the page watches.
    const real = await readHistory(join(runsDir, 'autoencoder'));
    const live = join(runsDir, 'autoencoder-live');
    mkdirSync(live);
    await writeHistory(live, real.slice(0, 1));
    await page.goto(`${server.url}/#/runs`);
    await page.getByTestId('run-link').filter({ hasText: /^autoencoder$/ }).click();
    const plot = page.getByTestId('loss-plot');
    await plot.locator('canvas').waitFor();
    await page.waitForFunction((n) => document.querySelector('[data-testid=loss-plot]')?.getAttribute('data-points') === n, String(real.length));
    // uPlot draws on a canvas: count the pixels in the first series' blue.
    const bluePixels = async (): Promise<number> =>
      plot.locator('canvas').evaluate((canvas: PageCanvas) => {
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let n = 0;
        for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i]! - 37) < 30 && Math.abs(data[i + 1]! - 99) < 30 && data[i + 2]! > 200 && data[i + 3]! > 128) n++;
        return n;
      });
    assert.ok((await bluePixels()) > 100, 'the loss line is drawn');
    assert.equal(await plot.getAttribute('data-axes'), 'loss');
    await page.getByTestId('run-image').first().waitFor();
    assert.equal(await page.getByTestId('run-image').evaluate((img: { naturalWidth: number }) => img.naturalWidth > 0), true, 'reconstructions.png loaded');
    const table = page.getByTestId('runs-table');
    assert.match((await table.textContent())!, /autoencoder-live/);
    await page.screenshot({ path: join(shots, 'studio-runs.png'), fullPage: true });

    // The GPT run's learning rate gets its own axis, and the run its config.
    await page.getByTestId('run-link').filter({ hasText: 'gpt-char' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid=loss-plot]')?.getAttribute('data-points') === '4');
    assert.equal(await plot.getAttribute('data-axes'), 'loss rate');
    assert.match((await page.getByTestId('run-view').textContent())!, /n_layer1/);
    await page.screenshot({ path: join(shots, 'studio-runs-gpt.png'), fullPage: true });

    await page.getByTestId('run-link').filter({ hasText: 'autoencoder-live' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid=loss-plot]')?.getAttribute('data-points') === '1');
    await writeHistory(live, real.slice(0, 2));
    await page.waitForFunction(() => document.querySelector('[data-testid=loss-plot]')?.getAttribute('data-points') === '2');
    await writeHistory(live, real);
    await page.waitForFunction((n) => document.querySelector('[data-testid=loss-plot]')?.getAttribute('data-points') === n, String(real.length));
    assert.ok((await bluePixels()) > 100);
  });

  test('images: a row of each digit from the diffusion model; a GAN draws from noise and the digit controls go away', async () => {
    await page.goto(`${server.url}/#/images`);
    await page.locator('[data-testid=model] option', { hasText: 'digits' }).first().waitFor({ state: 'attached' });
    await page.getByTestId('model').selectOption('digits');
    await page.getByTestId('digit').selectOption('all');
    await page.getByLabel('per digit').fill('3');
    await page.getByLabel('steps').fill('2');
    await page.getByTestId('generate').click();
    const images = page.getByTestId('image-grid').locator('img');
    await images.nth(29).waitFor({ timeout: 60_000 });
    assert.equal(await images.count(), 30);
    const widths = await images.evaluateAll((els) => els.map((e) => (e as unknown as { naturalWidth: number }).naturalWidth));
    assert.ok(widths.every((w) => w === 28), `PNG widths ${widths.join(', ')}`);
    assert.match((await page.locator('.stats').textContent())!, /3 of each digit, one row per digit/);
    await page.screenshot({ path: join(shots, 'studio-images.png') });

    await page.getByTestId('model').selectOption('noise-gan');
    await page.getByTestId('generate').click();
    await page.getByRole('alert').waitFor();
    assert.match((await page.getByRole('alert').textContent())!, /needs a class-conditional model; `noise-gan` is a gan run/);
    assert.equal(await page.getByTestId('digit').count(), 0, 'the digit control is hidden for a GAN');
    await page.getByLabel('images').fill('5');
    await page.getByTestId('generate').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=image-grid] img').length === 5);
  });

  test('rag: the answer with its sources; a click shows the passage, its document and headings', async () => {
    await page.goto(`${server.url}/#/rag`);
    await page.locator('[data-testid=model] option', { hasText: CHAT_MODEL }).first().waitFor({ state: 'attached' });
    await page.getByTestId('question').fill('How tall is the tower?');
    await page.getByLabel('passages').fill('2');
    // gpt2-tiny reads 128 positions: short instructions and a short answer leave room for the passages.
    await page.getByLabel('max tokens').fill('12');
    await page.getByLabel('instructions').fill('Cite [n].');
    await page.getByTestId('ask').click();
    await page.getByTestId('source').first().waitFor({ timeout: 60_000 });
    assert.ok((await page.getByTestId('source').count()) >= 1);
    const first = (await page.getByTestId('source').first().textContent())!;
    assert.match(first, /^\[1\] Paris/, "the source is named by its document's title");
    await page.getByTestId('source').first().click();
    const passage = page.getByTestId('passage');
    await passage.waitFor();
    assert.match((await passage.locator('blockquote').textContent())!, /330 metres tall/);
    assert.match((await passage.textContent())!, /tower\.md › Paris \(characters \d+–\d+\)/);
    await page.screenshot({ path: join(shots, 'studio-rag.png') });
  });

  test('the page made no request outside the server, logged no errors and got no failures but the ones asked for', () => {
    assert.deepEqual(outsideRequests, []);
    assert.deepEqual(consoleErrors, []);
    // The refusals the tests ask for: the model list before the key was typed, and conditioning a GAN.
    assert.deepEqual(failedResponses, ['401 /api/models', '400 /v1/images/generations']);
  });
});
