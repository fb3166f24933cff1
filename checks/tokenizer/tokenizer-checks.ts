/** The tokenizer and chat-template checks, in report order (registered in checks/index.ts). */
import type { Check } from '../types.ts';
import { bosCount } from './bos-count.ts';
import { chatTemplateRenders } from './chat-template.ts';
import { chatTemplateDupSystem } from './chat-template-dup-system.ts';
import { chatTemplateGenPrompt } from './chat-template-gen-prompt.ts';
import { chatTemplateMissing } from './chat-template-missing.ts';
import { eosVsTemplate } from './eos-vs-template.ts';
import { fastVsSlow } from './tokenizer-fast-slow.ts';
import { legacySpm } from './legacy-spm.ts';
import { padEqEos } from './pad-eq-eos.ts';
import { tokenizerRoundtrip } from './tokenizer-roundtrip.ts';
import { specialTokenNormalized } from './special-token-normalized.ts';
import { templateTokens } from './template-tokens.ts';
import { specialTokenIds } from './special-token-ids.ts';
import { tokenIdRange } from './token-id-range.ts';
import { tokenizerChanged } from './tokenizer-changed.ts';

export const TOKENIZER_CHECKS: readonly Check[] = [
  specialTokenIds,
  tokenIdRange,
  chatTemplateMissing,
  chatTemplateRenders,
  chatTemplateGenPrompt,
  chatTemplateDupSystem,
  eosVsTemplate,
  bosCount,
  templateTokens,
  padEqEos,
  fastVsSlow,
  tokenizerRoundtrip,
  specialTokenNormalized,
  legacySpm,
  tokenizerChanged,
];
