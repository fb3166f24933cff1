import { filesWellformed } from './files/files-wellformed.ts';
import { eosVsTemplate } from './tokenizer/eos-vs-template.ts';
import { padEqEos } from './tokenizer/pad-eq-eos.ts';
import type { Check } from './types.ts';

/**
 * The check catalog: every check the pipeline, the CLI and the runner know. Add new checks here.
 * Order is the order checks run in the CLI and appear in reports.
 */
export const ALL_CHECKS: readonly Check[] = [
  filesWellformed,
  eosVsTemplate,
  padEqEos,
];

export function checkById(id: string): Check | undefined {
  return ALL_CHECKS.find((c) => c.id === id);
}
