/**
 * POST /v1/images/generations against a real server on port 0 through the openai client, from a tiny
 * diffusion run and a GAN run trained for a few steps in a temp dir and loaded as `forja serve` loads them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { PNG } from 'pngjs';
import { buildServer } from '../../../../src/apps/server/app.js';
import { loadImageModel, mediaRoutes, MediaModels, type ServedImageModel } from '../../../../src/apps/server/media-models.js';
import { IMAGE_SIZES, planImages, scaleOf } from '../../../../src/apps/server/routes/images.js';
import { diffusionSpec } from '../../../../src/models/mnist/diffusion/model.js';
import { gan } from '../../../../src/models/mnist/gan.js';
import { trainRun } from '../../../../src/models/mnist/run.js';

const tinyDiffusion = diffusionSpec({ channels: [8, 16], groups: 4, embedDim: 16 }, { steps: 2, guidance: 2 });

const decode = (b64: string) => PNG.sync.read(Buffer.from(b64, 'base64'));
/** Grey value of pixel (x, y) of a decoded PNG. */
const grey = (png: PNG, x: number, y: number) => png.data[(y * png.width + x) * 4]!;

describe('images: planning a request', () => {
  const conditional = { id: 'd', kind: 'diffusion', model: { name: 'diffusion' as const, sampleDigits: async () => new Float32Array(0) } };
  const noise = { id: 'g', kind: 'gan', model: { name: 'gan' as const, sample: async () => new Float32Array(0) } };

  test('the prompt names the digit (English or Spanish); digit overrides it; "all" is one row per digit', () => {
    assert.deepEqual(planImages({ prompt: 'un siete', n: 3 }, conditional, 5).labels, [7, 7, 7]);
    assert.deepEqual(planImages({ prompt: 'a two', digit: 4, n: 2 }, conditional, 5).labels, [4, 4]);
    const all = planImages({ prompt: '', digit: 'all', n: 2, grid: true }, conditional, 5);
    assert.deepEqual(all.labels, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]);
    assert.equal(all.gridCols, 2);
  });

  test('sizes are 28×28 and its enlargements; anything else is refused naming them', () => {
    assert.deepEqual(IMAGE_SIZES, ['28x28', '56x56', '112x112', '224x224']);
    assert.equal(scaleOf('112x112'), 4);
    assert.throws(() => scaleOf('1024x1024'), (e: Error & { status?: number }) => e.status === 400 && /'size' "1024x1024" is not one this model makes; sizes: 28x28, 56x56, 112x112, 224x224/.test(e.message));
  });

  test('refusals: a prompt naming no digit, url responses, conditioning a GAN, too many for "all"', () => {
    assert.throws(() => planImages({ prompt: 'a cat' }, conditional), /'cat' is not a digit word.*or pass 'digit'/);
    assert.throws(() => planImages({ prompt: '7', response_format: 'url' }, conditional), /keeps no image files; use b64_json/);
    assert.throws(() => planImages({ prompt: '7', guidance: 2 }, noise), /'guidance' needs a class-conditional model; `g` is a gan run/);
    assert.throws(() => planImages({ prompt: '', digit: 'all', n: 11 }, conditional), /n 11 makes 110 images, over the 100/);
    assert.equal(planImages({ prompt: 'anything' }, noise, 1).labels, undefined);
  });
});

describe('POST /v1/images/generations on a real server', () => {
  let root: string;
  let app: FastifyInstance;
  let client: OpenAI;
  let baseURL: string;
  let diffusion: ServedImageModel;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'forja-serve-images-'));
    const settings = { epochs: 1, batchSize: 8, lr: 2e-3, seed: 3, limit: 16 };
    await trainRun(tinyDiffusion, { ...settings, outDir: join(root, 'digits') });
    await trainRun(gan, { ...settings, outDir: join(root, 'noise-gan') });
    diffusion = await loadImageModel(join(root, 'digits'));
    const media = MediaModels.of({ images: [diffusion, await loadImageModel(join(root, 'noise-gan'))] });
    app = await buildServer({ routes: [mediaRoutes(media)] });
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseURL = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1`;
    client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await app?.close();
    await rm(root, { recursive: true, force: true });
  });

  test('the models are listed; run directories are loaded by kind', async () => {
    assert.deepEqual((await client.models.list()).data.map((m) => m.id).sort(), ['digits', 'noise-gan']);
    assert.equal(diffusion.kind, 'diffusion');
  });

  test('openai images.generate: n PNGs of the model\'s size with the digit drawn as sampleDigits draws it', async () => {
    // size and seed are outside the client's types (OpenAI's sizes, Forja's extension); it sends them as given.
    const params = { model: 'digits', prompt: 'un siete', n: 2, response_format: 'b64_json', size: '56x56', seed: 11 } as unknown as OpenAI.ImageGenerateParamsNonStreaming;
    const r = await client.images.generate(params);
    assert.equal(r.data?.length, 2);
    const expected = await diffusion.model.sampleDigits!([7, 7], { seed: 11 });
    r.data!.forEach((d, i) => {
      assert.equal(d.revised_prompt, 'the digit 7');
      const png = decode(d.b64_json!);
      assert.deepEqual([png.width, png.height], [56, 56]);
      // Each 28×28 pixel is a 2×2 block; 8-bit grey of the sampled value.
      for (const [x, y] of [[0, 0], [27, 13], [14, 27], [5, 20]] as const) {
        const v = expected[i * 784 + y * 28 + x]!;
        assert.ok(Math.abs(grey(png, 2 * x + 1, 2 * y + 1) - v * 255) <= 1, `image ${i} pixel (${x}, ${y})`);
      }
    });
    assert.equal((r as unknown as { seed: number }).seed, 11);
  });

  test('Forja extensions: the same seed repeats; a grid of every digit is one PNG, rows of 10', async () => {
    const body = { model: 'digits', prompt: '', digit: 'all', n: 1, grid: true, seed: 4, steps: 1, guidance: 1.5 };
    const post = async () => (await (await fetch(`${baseURL}/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { data: { b64_json: string }[] };
    const [a, b] = [await post(), await post()];
    assert.equal(a.data.length, 1);
    assert.equal(a.data[0]!.b64_json, b.data[0]!.b64_json, 'same seed, same grid');
    const png = decode(a.data[0]!.b64_json);
    // One column (n 1), ten rows, 2-pixel padding: imageGridPng's geometry.
    assert.deepEqual([png.width, png.height], [28 + 4, 10 * 28 + 11 * 2]);
  });

  test('a GAN run draws from noise; conditioning it is refused', async () => {
    const r = await client.images.generate({ model: 'noise-gan', prompt: 'anything', n: 3 });
    assert.equal(r.data?.length, 3);
    assert.deepEqual(r.data!.map((d) => decode(d.b64_json!).width), [28, 28, 28]);
    const differ = new Set(r.data!.map((d) => d.b64_json));
    assert.equal(differ.size, 3, 'three different digits');
  });

  test('bad requests get OpenAI errors and the server keeps serving', async () => {
    const cases: [Record<string, unknown>, number, string, RegExp][] = [
      [{ model: 'digits', prompt: 'a cat' }, 400, 'prompt', /'cat' is not a digit word/],
      [{ model: 'digits', prompt: '7', size: '1024x1024' }, 400, 'size', /sizes: 28x28, 56x56/],
      [{ model: 'digits', prompt: '7', n: 1000 }, 400, 'n', /must be <= 100/],
      [{ model: 'digits', prompt: '7', response_format: 'url' }, 400, 'response_format', /b64_json/],
      [{ model: 'noise-gan', prompt: '7', digit: 7 }, 400, 'digit', /needs a class-conditional model/],
      [{ model: 'digits', prompt: '7', file: '/etc/passwd' }, 400, 'file', /Unrecognized request argument/],
      [{ prompt: '7' }, 400, 'model', /several image models \(digits, noise-gan\)/],
      [{ model: 'dall-e-3', prompt: '7' }, 404, 'model', /does not exist; models that generate images: digits, noise-gan/],
    ];
    for (const [body, status, param, message] of cases) {
      const res = await fetch(`${baseURL}/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await res.json()) as { error: { message: string; param: string | null } };
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(json.error.param, param, JSON.stringify(body));
      assert.match(json.error.message, message, JSON.stringify(body));
    }
    const ok = await client.images.generate({ model: 'digits', prompt: '3' });
    assert.equal(ok.data?.length, 1);
  });
});
