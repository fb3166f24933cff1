import type { Config } from '../lib/config.ts';
import type { CheckEnv } from '../lib/pipeline/run-check-job.ts';
import type { TensorOpener } from '../lib/scan.ts';

/** The runner's tensor access for the release being checked (ranged reads from the Hub). */
export function tensorEnv(_cfg: Config): CheckEnv {
  return {};
}

/** The CLI's tensor access: same reader over the scan's byte source (local file or Hub ranges). */
export function cliTensorOpener(): TensorOpener | null {
  return null;
}
