import type { Check, Snapshot } from '../types.ts';
import { readModelConfig } from './config-read.ts';
import { diffConfigs, diffTensors, type TensorDiff } from './config-diff.ts';
import { changeRows, changeSeverity, structural, tensorExtra, tensorRows } from './diff-evidence.ts';
import { tableFinding, worst } from './evidence.ts';

/**
 * The repos a model card names as its base (`base_model` may be a string or a list; `org/name:revision` style
 * suffixes are kept). Used by the worker and the CLI to resolve the base snapshot.
 */
export function declaredBaseModels(snap: Pick<Snapshot, 'cardData' | 'repo'>): string[] {
  const b = snap.cardData?.base_model;
  const list =
    typeof b === 'string' ? [b] : Array.isArray(b) ? b.filter((x): x is string => typeof x === 'string') : [];
  return [...new Set(list.map((s) => s.trim()).filter((s) => s && s !== snap.repo))];
}

/** Weights are comparable tensor by tensor only for a full fine-tune in the same format. */
function comparableWeights(release: Snapshot, base: Snapshot, raw: Record<string, unknown>): string | null {
  const relation = release.cardData?.base_model_relation;
  if (relation === 'quantized' || relation === 'adapter') return `base_model_relation is ${relation}`;
  if (release.files.some((f) => f.path === 'adapter_config.json')) return 'the release is an adapter';
  if (raw.quantization_config) return 'the release is quantized';
  if (!release.safetensors || !base.safetensors) return 'one side has no safetensors weights';
  if (!Object.keys(release.safetensors.tensors).length || !Object.keys(base.safetensors.tensors).length)
    return 'one side has no readable tensors';
  return null;
}

/**
 * BASE_MODEL_MISMATCH: the release against the base model its card declares: config keys by sensitivity
 * (activation, eps, softcap, attention scale: critical; architecture and RoPE: warning; limits and dtype:
 * info) and, for full fine-tunes, the tensor inventory (removed or reshaped tensors).
 */
export const baseModelDiff: Check = {
  id: 'base-model-diff',
  title: 'Release agrees with its base model',
  queue: 'checks',
  codes: ['BASE_MODEL_MISMATCH'],
  run({ release, base }) {
    const declared = declaredBaseModels(release);
    if (!base) {
      return {
        status: 'skipped',
        reason: declared.length
          ? `base model ${declared.join(', ')} declared but not available to compare`
          : 'no base_model declared in the model card',
      };
    }
    const ours = readModelConfig(release);
    if ('skip' in ours) return { status: 'skipped', reason: ours.skip };
    const theirs = readModelConfig(base);
    if ('skip' in theirs) return { status: 'skipped', reason: `base ${base.repo}: ${theirs.skip}` };
    const changes = diffConfigs(ours.config.raw, theirs.config.raw).filter((ch) => ch.sensitivity !== 'low');
    const why = comparableWeights(release, base, ours.config.raw);
    const tensors: TensorDiff | null = why === null ? diffTensors(release.safetensors!, base.safetensors!) : null;
    const structuralChange = tensors !== null && structural(tensors);
    if (!changes.length && !structuralChange) return { status: 'passed' };
    const severities = changes.map((ch) => changeSeverity(ch, 'base'));
    if (structuralChange) severities.push('warning');
    const severity = worst(severities);
    const top = changes.find((ch) => changeSeverity(ch, 'base') === severity);
    return {
      status: 'findings',
      findings: [
        tableFinding({
          code: 'BASE_MODEL_MISMATCH',
          severity,
          files: ['config.json'],
          title: top
            ? `Differs from base ${base.repo}: ${top.key} ${JSON.stringify(top.ours ?? null)} (base ${JSON.stringify(top.theirs ?? null)})${changes.length > 1 ? ` and ${changes.length - 1} more` : ''}`
            : `Tensor inventory differs from base ${base.repo}`,
          detail:
            "A fine-tune runs the base model's architecture with new weights: a changed activation, norm eps, softcap or attention scale silently computes a different function than the weights were trained for. Structural changes mean the declared base_model is wrong.",
          table: [...changeRows(changes, 'base'), ...(tensors ? tensorRows(tensors, 'base') : [])],
          extra: {
            base: { repo: base.repo, sha: base.sha },
            declared,
            ...(tensors ? { tensors: tensorExtra(tensors) } : { tensors: `not compared: ${why}` }),
          },
        }),
      ],
    };
  },
};
