/** Finding and running Debian's PyTorch for the benchmarks that compare against it in the same run. */
import { spawnSync } from 'node:child_process';

/** The environment PyTorch runs in: OpenBLAS tuning variables removed so it picks its own defaults. */
export function pythonEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** A python that can `import torch` ($FORJA_PYTHON, python3, then /usr/bin/python3), or null. */
export function findTorchPython(): string | null {
  const candidates = [process.env.FORJA_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import torch'], { env: pythonEnv(), stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  return null;
}

/**
 * PyTorch's thread settings worth trying on 2 cores: its own threads, and
 * OpenBLAS's (undefined: OpenBLAS's default, one per core). Torch's 2 with
 * OpenBLAS's default oversubscribes the cores and runs up to 2× slower here.
 */
export const TORCH_THREADS = [
  { torch: 1, openblas: undefined },
  { torch: 2, openblas: 1 },
] as const;
export type TorchThreads = (typeof TORCH_THREADS)[number];

/** pythonEnv() with OpenBLAS's thread count set as `threads` asks. */
export function torchEnv(threads: TorchThreads): NodeJS.ProcessEnv {
  return { ...pythonEnv(), ...(threads.openblas !== undefined && { OPENBLAS_NUM_THREADS: String(threads.openblas) }) };
}

/** How a result table names a setting. */
export function torchThreadsLabel(threads: TorchThreads): string {
  return `${threads.torch} thread${threads.torch > 1 ? 's' : ''}, OpenBLAS ${threads.openblas ?? 'default'}`;
}
