import type { Check, Severity, Snapshot } from '../types.ts';
import { readModelConfig } from './config-read.ts';
import { diffConfigs, diffTensors, type TensorDiff } from './config-diff.ts';
import { changeRows, changeSeverity, structural, tensorExtra, tensorRows } from './diff-evidence.ts';
import { tableFinding, worst } from './evidence.ts';

function tensorDiffOf(release: Snapshot, previous: Snapshot): TensorDiff | null {
  const a = release.safetensors;
  const b = previous.safetensors;
  if (!a || !b || !Object.keys(a.tensors).length || !Object.keys(b.tensors).length) return null;
  const d = diffTensors(a, b);
  return d.added.length || d.removed.length || d.reshaped.length || d.retyped.length ? d : null;
}

/**
 * CONFIG_CHANGED: config.json and the tensor inventory against the previous checked revision of the same repo.
 * Most real release bugs were fixed by a later commit to config.json (gemma-2-9b query_pre_attn_scalar,
 * Llama-3 eos ids): a fix is reported as info so that derived copies get re-converted, a change away from the
 * family reference as a critical regression, other sensitive changes as warnings.
 */
export const configChanged: Check = {
  id: 'config-changed',
  title: 'Config changes since the previous revision',
  queue: 'checks',
  codes: ['CONFIG_CHANGED'],
  run({ release, previous }) {
    if (!previous) return { status: 'skipped', reason: 'no previous checked revision of this repo' };
    const ours = readModelConfig(release);
    const theirs = readModelConfig(previous);
    if ('skip' in ours && 'skip' in theirs)
      return { status: 'skipped', reason: `${ours.skip}; previous revision: ${theirs.skip}` };
    const meta = { previous: { repo: previous.repo, sha: previous.sha } };
    if ('skip' in ours || 'skip' in theirs) {
      const removed = 'skip' in ours;
      return {
        status: 'findings',
        findings: [
          tableFinding({
            code: 'CONFIG_CHANGED',
            severity: removed ? 'warning' : 'info',
            files: ['config.json'],
            title: removed
              ? 'config.json is no longer usable since the previous revision'
              : 'config.json added since the previous revision',
            detail: removed
              ? `Loaders need config.json: ${'skip' in ours ? ours.skip : ''}`
              : 'The previous revision had no usable config.json.',
            table: [
              {
                field: 'config.json',
                value: removed ? null : 'present',
                previous: removed ? 'present' : null,
                source: 'release files',
              },
            ],
            extra: meta,
          }),
        ],
      };
    }
    const changes = diffConfigs(ours.config.raw, theirs.config.raw);
    const tensors = tensorDiffOf(release, previous);
    if (!changes.length && !tensors) return { status: 'passed' };
    const severities: Severity[] = changes.map((ch) => changeSeverity(ch, 'previous'));
    if (tensors) severities.push(structural(tensors) ? 'warning' : 'info');
    const severity = worst(severities);
    const top = changes.find((ch) => changeSeverity(ch, 'previous') === severity) ?? changes[0];
    return {
      status: 'findings',
      findings: [
        tableFinding({
          code: 'CONFIG_CHANGED',
          severity,
          files: ['config.json'],
          title: top
            ? `Changed since ${previous.sha.slice(0, 12)}: ${top.key} ${JSON.stringify(top.theirs ?? null)} → ${JSON.stringify(top.ours ?? null)}${changes.length > 1 ? ` and ${changes.length - 1} more` : ''}`
            : `Tensor inventory changed since ${previous.sha.slice(0, 12)}`,
          detail:
            'Copies converted or cached from the previous revision (GGUF, MLX, quantized uploads, fine-tunes) still carry the old values; sensitive changes need them redone.',
          table: [...changeRows(changes, 'previous'), ...(tensors ? tensorRows(tensors, 'previous') : [])],
          extra: { ...meta, ...(tensors ? { tensors: tensorExtra(tensors) } : {}) },
        }),
      ],
    };
  },
};
