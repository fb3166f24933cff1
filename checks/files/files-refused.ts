import { readJson } from '../snapshot-files.ts';
import type { Check, CheckContext, FindingInput } from '../types.ts';

/** JSON files that transformers and tokenizers load as a mapping (`AutoConfig`, `from_pretrained`). */
const OBJECT_FILES = new Set([
  'config.json',
  'generation_config.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'tokenizer.json',
  'added_tokens.json',
  'preprocessor_config.json',
  'processor_config.json',
  'model.safetensors.index.json',
]);

function notObject(ctx: CheckContext): FindingInput[] {
  const out: FindingInput[] = [];
  for (const path of Object.keys(ctx.release.texts)
    .filter((p) => OBJECT_FILES.has(p))
    .sort()) {
    const r = readJson(ctx.release, path);
    if (r.state !== 'ok' || (r.value !== null && typeof r.value === 'object' && !Array.isArray(r.value))) continue;
    const kind = r.value === null ? 'null' : Array.isArray(r.value) ? 'an array' : `a ${typeof r.value}`;
    out.push({
      code: 'FILE_MALFORMED',
      severity: 'critical',
      title: `${path} is ${kind}, not a JSON object`,
      detail: `Loaders read ${path} as a mapping and fail on it; every check that needs it had nothing to check.`,
      evidence: { file: path, topLevel: kind },
      files: [path],
    });
  }
  return out;
}

/**
 * FILE_MALFORMED / FILE_SKIPPED for files the reader refused before parsing (nested past the depth bound, not
 * UTF-8), for JSON files whose top level is not the object loaders expect (even `[]`: never a silent ok), and
 * for entries of a local folder that were not followed (a symlink out of the folder, a socket or device).
 */
export const filesRefused: Check = {
  id: 'files-refused',
  title: 'Files refused or skipped by the reader are reported',
  queue: 'checks',
  codes: ['FILE_MALFORMED', 'FILE_SKIPPED'],
  run(ctx) {
    const findings = notObject(ctx);
    for (const [path, r] of Object.entries(ctx.release.rejected ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      findings.push(
        r.kind === 'malformed'
          ? {
              code: 'FILE_MALFORMED',
              severity: 'critical',
              title: `${path} refused unparsed: ${r.reason}`,
              detail: `${path} was not parsed (${r.reason}); loaders fail on it, and checks that need it were skipped.`,
              evidence: { file: path, reason: r.reason },
              files: [path],
            }
          : {
              code: 'FILE_SKIPPED',
              severity: 'info',
              title: `${path} skipped: ${r.reason}`,
              detail: `${path} was not read (${r.reason}); checks that need it treat it as not there.`,
              evidence: { file: path, reason: r.reason },
              files: [path],
            },
      );
    }
    return findings.length ? { status: 'findings', findings } : { status: 'passed' };
  },
};
