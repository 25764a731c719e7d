/**
 * Summaries of ONNX Runtime's profiler output (runtime/session.ts setProfiling):
 * kernel time per run by phase of a training step and by op type. The phase
 * comes from the node's name, which carries the scope it was traced in
 * (train/step-runner.ts): `gradients/…` is the backward pass, `optimizer/…`
 * the update (clipping included), anything else the forward pass and loss.
 */
import { readFileSync } from 'node:fs';

interface TraceEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

export type Phase = 'forward' | 'backward' | 'optimizer';

export interface ProfileSummary {
  /** Runs summarised (the warm-up runs skipped). */
  runs: number;
  /** Mean ms per run of session.run as ORT timed it. */
  runMs: number;
  /** Mean kernel ms per run, by phase. */
  phases: Record<Phase, number>;
  /** Mean kernel ms and kernel launches per run, by phase and op type, largest first. */
  ops: { phase: Phase; op: string; ms: number; launches: number }[];
}

export function phaseOf(nodeName: string): Phase {
  if (nodeName.startsWith('gradients/')) return 'backward';
  if (nodeName.startsWith('optimizer/')) return 'optimizer';
  return 'forward';
}

/** Summarise the runs of one profile file after the first `skip` (warm-up). */
export function summariseProfile(path: string, skip: number): ProfileSummary {
  const events = JSON.parse(readFileSync(path, 'utf8')) as TraceEvent[];
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').slice(skip);
  if (runs.length === 0) throw new Error(`${path}: no runs after the first ${skip}`);
  const from = runs[0]!.ts;
  const phases: Record<Phase, number> = { forward: 0, backward: 0, optimizer: 0 };
  const ops = new Map<string, { phase: Phase; op: string; us: number; launches: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < from) continue;
    const phase = phaseOf(e.name);
    const op = e.args?.op_name ?? '?';
    phases[phase] += e.dur;
    const key = `${phase}/${op}`;
    const entry = ops.get(key) ?? { phase, op, us: 0, launches: 0 };
    entry.us += e.dur;
    entry.launches++;
    ops.set(key, entry);
  }
  const perRun = (us: number): number => us / runs.length / 1000;
  return {
    runs: runs.length,
    runMs: perRun(runs.reduce((sum, r) => sum + r.dur, 0)),
    phases: { forward: perRun(phases.forward), backward: perRun(phases.backward), optimizer: perRun(phases.optimizer) },
    ops: [...ops.values()].map((o) => ({ phase: o.phase, op: o.op, ms: perRun(o.us), launches: o.launches / runs.length })).sort((a, b) => b.ms - a.ms),
  };
}

/** A Markdown report: the phases, then the `top` op types. */
export function formatProfile(s: ProfileSummary, top = 15): string {
  const kernels = s.phases.forward + s.phases.backward + s.phases.optimizer;
  const lines = [
    `ORT profile, mean of ${s.runs} runs: session.run ${s.runMs.toFixed(1)} ms, kernels ${kernels.toFixed(1)} ms ` +
      `(forward ${s.phases.forward.toFixed(1)}, backward ${s.phases.backward.toFixed(1)}, optimizer ${s.phases.optimizer.toFixed(1)})`,
    '',
    '| phase | op type | ms per step | launches per step |',
    '|---|---|---|---|',
    ...s.ops.slice(0, top).map((o) => `| ${o.phase} | ${o.op} | ${o.ms.toFixed(2)} | ${Math.round(o.launches)} |`),
  ];
  return lines.join('\n');
}
