// Loaded with `node --import`: appends the URL of every module the process resolves through `import` to the file
// $FORJA_MODULE_LOG, so a test can tell which modules a command loaded.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

// This file is both the registration (main thread) and the hooks (module hooks run on their own thread).
if (isMainThread) register(import.meta.url);

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (process.env.FORJA_MODULE_LOG) appendFileSync(process.env.FORJA_MODULE_LOG, `${result.url}\n`);
  return result;
}
