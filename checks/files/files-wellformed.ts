import { readJson } from '../snapshot-files.ts';
import type { Check, FindingInput } from '../types.ts';
import { isLocalPointer, pointerFinding } from './lfs-pointers.ts';
import { isMissingShardError, missingShardFindings, missingShards } from './missing-shards.ts';

/**
 * FILE_MALFORMED / FILE_TOO_LARGE: a JSON file that does not parse, a safetensors header that lies, a shard
 * index that names missing files, or a file over the size cap. A partial local download (missing shards, git-lfs
 * pointers) is one info finding. Other checks treat such files as absent and say so in their skip reason; this
 * check is where the release gets told.
 */
export const filesWellformed: Check = {
  id: 'files-wellformed',
  title: 'Release files are well-formed',
  queue: 'checks',
  codes: ['FILE_MALFORMED', 'FILE_TOO_LARGE'],
  run({ release: snap }) {
    const findings: FindingInput[] = [];
    const pointers: string[] = [];
    for (const path of Object.keys(snap.texts)
      .filter((p) => p.endsWith('.json'))
      .sort()) {
      const r = readJson(snap, path);
      if (r.state === 'malformed' && isLocalPointer(snap, path)) pointers.push(path);
      else if (r.state === 'malformed') {
        findings.push({
          code: 'FILE_MALFORMED',
          severity: 'critical',
          title: `${path} is not valid JSON`,
          detail: `Loaders fail on this file: ${r.error}`,
          evidence: { file: path, error: r.error },
          files: [path],
        });
      }
    }
    for (const [path, reason] of Object.entries(snap.omitted).sort()) {
      findings.push({
        code: 'FILE_TOO_LARGE',
        severity: 'warning',
        title: `${path} was not read: ${reason}`,
        detail: `Checks that need ${path} were skipped.`,
        evidence: { file: path, reason, size: snap.files.find((f) => f.path === path)?.size ?? null },
        files: [path],
      });
    }
    const st = snap.safetensors;
    if (st) {
      for (const f of st.files) {
        if (f.error && isLocalPointer(snap, f.path, f.error)) pointers.push(f.path);
        else if (f.error)
          findings.push({
            code: 'FILE_MALFORMED',
            severity: 'critical',
            title: `${f.path}: invalid safetensors header`,
            detail: f.error,
            evidence: { file: f.path, size: f.size, error: f.error },
            files: [f.path],
          });
      }
      const missing = missingShards(snap);
      findings.push(...missingShardFindings(snap, missing));
      for (const e of st.errors.filter((x) => !isMissingShardError(x, missing))) {
        findings.push({
          code: 'FILE_MALFORMED',
          severity: 'critical',
          title: 'Inconsistent safetensors index or shards',
          detail: e,
          evidence: { index: st.index, error: e },
          files: st.index ? [st.index] : [],
        });
      }
    }
    findings.push(...pointerFinding(snap, pointers));
    return findings.length ? { status: 'findings', findings } : { status: 'passed' };
  },
};
