/**
 * GET /metrics in Prometheus' text format, on a registry of the server's own (two servers in one process,
 * as in the tests, do not share counters): requests by route and status, prompt and completion tokens,
 * the engine's queue depth and running sequences (read at scrape time), time to first token and
 * inter-token latency.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineStats } from '../../text/batching/types.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly promptTokens: Counter<'model'>;
  readonly completionTokens: Counter<'model'>;
  readonly timeToFirstToken: Histogram<'model'>;
  readonly interTokenLatency: Histogram<'model'>;
  /** Streams ended because their client went away. */
  readonly cancelled: Counter<'model'>;

  constructor(stats: () => EngineStats | undefined) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'forja_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['route', 'method', 'status'], registers });
    this.promptTokens = new Counter({ name: 'forja_prompt_tokens_total', help: 'Prompt tokens of finished requests', labelNames: ['model'], registers });
    this.completionTokens = new Counter({ name: 'forja_completion_tokens_total', help: 'Generated tokens', labelNames: ['model'], registers });
    this.cancelled = new Counter({ name: 'forja_cancelled_sequences_total', help: 'Sequences cancelled because the client disconnected', labelNames: ['model'], registers });
    this.timeToFirstToken = new Histogram({ name: 'forja_time_to_first_token_seconds', help: 'From submit to the first generated token', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers });
    this.interTokenLatency = new Histogram({ name: 'forja_inter_token_latency_seconds', help: 'Between consecutive generated tokens of one sequence', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers });
    new Gauge({ name: 'forja_queue_depth', help: 'Requests waiting for a slot in a running batch', registers, collect() { this.set(stats()?.queued ?? 0); } });
    new Gauge({ name: 'forja_running_sequences', help: 'Sequences in running decode batches', registers, collect() { this.set(stats()?.running ?? 0); } });
  }

  /** One finished sequence's tokens and latencies. */
  recordSequence(model: string, r: { promptTokens: number; completionTokens: number; timeToFirstTokenMs: number; interTokenMs: readonly number[] }): void {
    this.promptTokens.inc({ model }, r.promptTokens);
    this.completionTokens.inc({ model }, r.completionTokens);
    if (r.completionTokens > 0) this.timeToFirstToken.observe({ model }, r.timeToFirstTokenMs / 1000);
    for (const ms of r.interTokenMs) this.interTokenLatency.observe({ model }, ms / 1000);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
