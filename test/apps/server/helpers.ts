/**
 * A real server for the server tests: gpt2-tiny (random weights, GPT-2's tokenizer) with the `chat-template`
 * fixture's ChatML template beside it, in a temp dir (the fixtures are only read), optionally with the
 * gpt2-tiny-lora adapter served as `gpt2-tiny-chat:gpt2-tiny-lora`, on the real batching engine.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions } from '../../../src/apps/server/app.js';
import { engineModels, loadTextModels, releaseTextModels, type ServedTextModel } from '../../../src/apps/server/models.js';
import { createBatchEngine } from '../../../src/text/batching/index.js';
import type { BatchEngine, EngineOptions } from '../../../src/text/batching/types.js';
import { fixturePath } from '../../helpers/fixtures.js';

export const CHAT_MODEL = 'gpt2-tiny-chat';
export const ADAPTER_MODEL = `${CHAT_MODEL}:gpt2-tiny-lora`;

/** gpt2-tiny's files linked into `<tmp>/gpt2-tiny-chat`, plus chat_template.jinja. */
export function chatModelDir(root: string): string {
  const dir = join(root, CHAT_MODEL);
  mkdirSync(dir);
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt']) {
    symlinkSync(fixturePath('gpt2-tiny', f), join(dir, f));
  }
  symlinkSync(fixturePath('chat-template', 'chat_template.jinja'), join(dir, 'chat_template.jinja'));
  return dir;
}

export interface TestServer {
  app: FastifyInstance;
  /** http://127.0.0.1:PORT */
  url: string;
  models: ServedTextModel[];
  engine: BatchEngine;
  close(): Promise<void>;
}

export async function startServer(options: Omit<ServerOptions, 'textModels' | 'engine'> & { adapter?: boolean; engine?: EngineOptions } = {}): Promise<TestServer> {
  const root = mkdtempSync(join(tmpdir(), 'forja-serve-'));
  const dir = chatModelDir(root);
  const models = await loadTextModels([{ model: dir }, ...(options.adapter ? [{ model: dir, adapter: fixturePath('gpt2-tiny-lora') }] : [])]);
  const engine = createBatchEngine(engineModels(models), options.engine);
  const { adapter: _a, engine: _e, ...rest } = options;
  const app = await buildServer({ ...rest, textModels: models, engine });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    url: address,
    models,
    engine,
    async close() {
      await app.close();
      await engine.close();
      await releaseTextModels(models);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
