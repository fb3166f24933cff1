import { fullAttentionRule } from '../data/attention-windows.ts';
import type { Check, FindingInput } from '../types.ts';
import { keyPath, numOf, readModelConfig, type ModelConfig } from './config-read.ts';
import { tableFinding } from './evidence.ts';

/** A window that is set, switched on where the family has a switch, and shorter than the context. */
function windowInUse(c: ModelConfig, switchKey: string | undefined): number | null {
  const sw = c.text.sliding_window;
  if (typeof sw !== 'number' || !Number.isFinite(sw) || sw <= 0) return null;
  if (switchKey && c.text[switchKey] !== true) return null;
  // Qwen2/3 (configuration_qwen2.py): only layers from max_window_layers on use the window.
  const fromLayer = numOf(c, 'max_window_layers');
  const layers = numOf(c, 'num_hidden_layers');
  if (switchKey && fromLayer !== null && layers !== null && fromLayer >= layers) return null;
  const maxPos = numOf(c, 'max_position_embeddings');
  return maxPos !== null && sw >= maxPos ? null : sw;
}

function swaMismatch(c: ModelConfig): FindingInput | null {
  const rule = fullAttentionRule(c.modelType);
  if (!rule) return null;
  const sw = windowInUse(c, rule.switchKey);
  if (sw === null) return null;
  const table = [
    { field: keyPath(c, 'sliding_window'), value: sw, expected: null, source: rule.source },
    ...(rule.switchKey
      ? [{ field: keyPath(c, rule.switchKey), value: true, expected: false, source: rule.source }]
      : []),
    { field: 'max_position_embeddings', value: numOf(c, 'max_position_embeddings'), source: 'config.json' },
  ];
  return tableFinding({
    code: 'SWA_MISMATCH',
    severity: 'warning',
    files: ['config.json'],
    title: `sliding_window ${sw} on ${c.modelType}, a family trained with full attention`,
    detail: `Runtimes that honour sliding_window let each token see only the last ${sw} tokens; the model was trained to attend to the whole context, so answers degrade past ${sw} tokens. Remove the window (or set it to null).`,
    table,
  });
}

/** SWA_MISMATCH: a sliding window in use on a family whose reference attention is global. */
export const slidingWindow: Check = {
  id: 'sliding-window',
  title: 'No sliding window on a full-attention family',
  queue: 'checks',
  codes: ['SWA_MISMATCH'],
  run({ release }) {
    const r = readModelConfig(release);
    if ('skip' in r) return { status: 'skipped', reason: r.skip };
    const f = swaMismatch(r.config);
    return f ? { status: 'findings', findings: [f] } : { status: 'passed' };
  },
};
