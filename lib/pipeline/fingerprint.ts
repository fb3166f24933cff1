import type { Snapshot } from '../../checks/types.ts';

/**
 * The tokenizer fingerprint stored with each snapshot. Until the tokenizer checks provide the probe-ids hash,
 * this is null; see checks/tokenizer/fingerprint.ts.
 */
export function fingerprintHash(_snap: Snapshot): string | null {
  return null;
}
