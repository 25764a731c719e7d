/**
 * Ctrl-C, the same for every long command: the first SIGINT asks the work to
 * stop after its current step (it saves a checkpoint first), a second one
 * quits at once. The command then exits 130 and says how to resume.
 */
import { EXIT } from './errors.js';

const SAVING = 'stopping after this step and saving a checkpoint (Ctrl-C again to quit without saving)';

export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>, stopping = SAVING): Promise<T> {
  const stop = new AbortController();
  const onSigint = (): void => {
    if (stop.signal.aborted) process.exit(EXIT.interrupted);
    process.stderr.write(`\nforja: ${stopping}\n`);
    stop.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(stop.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** "resume with: forja train vae --out runs/vae --resume", from this process's own arguments. */
export function resumeHint(): string {
  const args = process.argv.slice(2).filter((a) => a !== '--resume' && a !== '--overwrite');
  return `resume with: forja ${[...args, '--resume'].map(quote).join(' ')}`;
}

function quote(arg: string): string {
  return /^[\w./:=@-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
