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
