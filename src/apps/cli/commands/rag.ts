/**
 * `forja rag ingest|query|ask|eval`: retrieval-augmented generation over a store (a SQLite file or a
 * postgres:// URL). Each subcommand is one file in ./rag/.
 */
import type { Command } from 'commander';
import { register as registerAsk } from './rag/ask.js';
import { register as registerEval } from './rag/eval.js';
import { register as registerIngest } from './rag/ingest.js';
import { register as registerQuery } from './rag/query.js';

export function register(program: Command): void {
  const rag = program.command('rag').description('Ingest documents, search them, answer questions with citations, and measure retrieval on BEIR');
  for (const add of [registerIngest, registerQuery, registerAsk, registerEval]) add(rag);
}
