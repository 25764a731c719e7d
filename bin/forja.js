#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx forja` works without a build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/apps/cli/main.ts');
