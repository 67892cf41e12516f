// Node-only: finds a Python interpreter that has Keras 3 and JAX, for `resnet train --distributed jax`.
// Looked for, in order: $RESNET_PYTHON, the project's virtual environments (.venv, .venv-reference),
// python3 on the PATH. Only the presence of the modules is checked (importing them takes seconds).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (dist/src/distributed/ is three levels below it). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The Python package of the distributed side (resnet_ts), put on PYTHONPATH. */
export const PYTHON_PACKAGE_DIR = join(PROJECT_ROOT, 'python');
export const REQUIRED_MODULES = ['keras', 'jax', 'numpy'] as const;

export type PythonLookup = { python: string } | { reason: string };

function candidates(): string[] {
  const list = [process.env.RESNET_PYTHON, join(PROJECT_ROOT, '.venv', 'bin', 'python'), join(PROJECT_ROOT, '.venv-reference', 'bin', 'python'), 'python3'];
  return list.filter((p): p is string => p !== undefined && p !== '' && (p === 'python3' || existsSync(p)));
}

/** The first candidate whose Python has every module of REQUIRED_MODULES, or why none has. */
export function findPython(): PythonLookup {
  const tried: string[] = [];
  const check = `import importlib.util as u, sys; m = [n for n in ${JSON.stringify(REQUIRED_MODULES)} if u.find_spec(n) is None]; print(' '.join(m)); sys.exit(1 if m else 0)`;
  for (const python of candidates()) {
    const r = spawnSync(python, ['-c', check], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return { python };
    tried.push(r.error ? `${python} (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})` : `${python} (lacks ${r.stdout.trim() || 'modules'})`);
  }
  return { reason: `no Python with ${REQUIRED_MODULES.join(', ')} found (tried ${tried.join('; ')}); set RESNET_PYTHON or see docs/distributed.md` };
}
