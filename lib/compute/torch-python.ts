/**
 * Which Python runs the torch worker: HUBWATCH_PYTHON when set, else the first `python3` on the PATH that imports
 * torch, else /usr/bin/python3 when it does (Debian's python3-torch installs there, while a pyenv or venv python3
 * often comes first on the PATH). The worker itself tells whether torch imports (exit code 3 when not), so a
 * candidate costs one torch import, not two.
 */
import { spawnSync } from 'node:child_process';

/** Why no Python with torch was found; its message says what to install. */
export class TorchUnavailableError extends Error {
  override name = 'TorchUnavailableError';
}

export const INSTALL_HINT =
  'install PyTorch: `apt-get install python3-torch libopenblas0-pthread` (Debian, then /usr/bin/python3) or ' +
  '`pip install torch numpy`, or point HUBWATCH_PYTHON at a python that has it';

/** The python3 candidates, in order: each on the PATH (`which -a`), then /usr/bin/python3. */
export function pythonCandidates(): string[] {
  const r = spawnSync('which', ['-a', 'python3'], { encoding: 'utf8' });
  const found = (r.stdout ?? '').split('\n').filter(Boolean);
  return [...new Set([...found, '/usr/bin/python3'])];
}
