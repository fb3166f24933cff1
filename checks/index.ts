import { activationFamily } from './arch/activation-family.ts';
import { attentionConfig } from './arch/attention-config.ts';
import { baseModelDiff } from './arch/base-model-diff.ts';
import { configChanged } from './arch/config-changed.ts';
import { configHparams } from './arch/config-hparams.ts';
import { configIdentity } from './arch/config-identity.ts';
import { configVsWeights } from './arch/config-vs-weights.ts';
import { familyConsensus } from './arch/family-consensus.ts';
import { maxPositions } from './arch/max-positions.ts';
import { remoteCode } from './arch/remote-code.ts';
import { ropeScaling } from './arch/rope-scaling.ts';
import { slidingWindow } from './arch/sliding-window.ts';
import { filesRefused } from './files/files-refused.ts';
import { filesWellformed } from './files/files-wellformed.ts';
import { pickleWeights } from './files/pickle-weights.ts';
import { TOKENIZER_CHECKS } from './tokenizer/tokenizer-checks.ts';
import type { Check } from './types.ts';
import { baseFingerprint } from './weights/base-fingerprint.ts';
import { untrainedTokens } from './weights/untrained-tokens.ts';

/**
 * The check catalog: every check the pipeline, the CLI and the runner know. Add new checks here.
 * Order is the order checks run in the CLI and appear in reports.
 */
export const ALL_CHECKS: readonly Check[] = [
  filesWellformed,
  filesRefused,
  pickleWeights,
  configVsWeights,
  configIdentity,
  activationFamily,
  attentionConfig,
  slidingWindow,
  ropeScaling,
  maxPositions,
  configHparams,
  familyConsensus,
  baseModelDiff,
  configChanged,
  remoteCode,
  ...TOKENIZER_CHECKS,
  untrainedTokens,
  baseFingerprint,
];

export function checkById(id: string): Check | undefined {
  return ALL_CHECKS.find((c) => c.id === id);
}
