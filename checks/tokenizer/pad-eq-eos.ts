import type { Check } from '../types.ts';
import { declarations } from './special-tokens.ts';

/**
 * PAD_EQ_EOS: a pad token equal to the EOS token makes fine-tuning mask EOS out of the loss, so the model
 * never learns to stop (Qwen2 base, phi-4, Llama-2 recipes; unsloth-zoo `patch_tokenizer` treats it as a bad pad).
 * Compared: the tokenizer's pad/eos tokens and config.json's pad_token_id/eos_token_id.
 */
export const padEqEos: Check = {
  id: 'pad-eq-eos',
  title: 'Pad token differs from the EOS token',
  queue: 'checks',
  codes: ['PAD_EQ_EOS'],
  run({ release: snap }) {
    const relevant = (d: { file: string }): boolean => d.file !== 'generation_config.json';
    const pads = declarations(snap, 'pad').filter(relevant);
    const eoss = declarations(snap, 'eos').filter(relevant);
    if (pads.length === 0) return { status: 'skipped', reason: 'no pad token declared' };
    if (eoss.length === 0) return { status: 'skipped', reason: 'no eos token declared' };
    const clashes = pads.flatMap((p) =>
      eoss
        .filter((e) => (p.token !== null && p.token === e.token) || p.ids.some((i) => e.ids.includes(i)))
        .map((e) => ({ pad: p, eos: e })),
    );
    if (clashes.length === 0) return { status: 'passed' };
    const { pad } = clashes[0];
    return {
      status: 'findings',
      findings: [
        {
          code: 'PAD_EQ_EOS',
          severity: 'warning',
          title: `Pad token is the EOS token (${pad.token ?? pad.ids.join(', ')})`,
          detail:
            'Training code masks pad positions out of the loss; with pad equal to EOS the model is never taught to emit EOS and fine-tunes generate without end. Use a distinct, unused token as pad.',
          evidence: {
            clashes: clashes.map((c) => ({
              pad: { file: c.pad.file, field: c.pad.field, token: c.pad.token, ids: c.pad.ids },
              eos: { file: c.eos.file, field: c.eos.field, token: c.eos.token, ids: c.eos.ids },
            })),
          },
          files: [...new Set(clashes.flatMap((c) => [c.pad.file, c.eos.file]))],
        },
      ],
    };
  },
};
