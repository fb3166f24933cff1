import { createCheckMemo } from '../../checks/memo.ts';
import { tokenizerFingerprint } from '../../checks/tokenizer/fingerprint.ts';
import type { Snapshot } from '../../checks/types.ts';

/**
 * The tokenizer fingerprint stored with each snapshot: llama.cpp's pre-tokenizer hash of the probe ids
 * (null without a loadable tokenizer.json). Never throws: a tokenizer that does not load has no fingerprint.
 */
export function fingerprintHash(snap: Snapshot): string | null {
  try {
    return tokenizerFingerprint(createCheckMemo(), snap)?.hash ?? null;
  } catch {
    return null;
  }
}
