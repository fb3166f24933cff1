/**
 * CHAT_TEMPLATE_MISSING: a chat/instruct release that ships no chat template anywhere transformers looks
 * (tokenizer_config.json `chat_template`, a string or a list of named templates; chat_template.jinja;
 * chat_template.json). transformers before v4.44 silently fell back to a class default template, often not the
 * model's format (transformers PR #30346 deprecated them for that); since PR #31733 apply_chat_template raises,
 * and chat servers refuse the model ("default chat template is no longer allowed", vLLM #39279).
 */
import { readJson } from '../snapshot-files.ts';
import type { Check, CheckMemo, Snapshot } from '../types.ts';
import { chatReleaseEvidence } from './chat-release.ts';
import { chatTemplate } from './special-tokens.ts';

const TEMPLATE_FILES = ['tokenizer_config.json', 'chat_template.jinja', 'chat_template.json'] as const;

/** Why the files cannot tell whether a template is shipped (a template file not kept or unreadable), or null. */
function undecidable(memo: CheckMemo, snap: Snapshot): string | null {
  for (const file of TEMPLATE_FILES) {
    if (file.endsWith('.jinja')) {
      if (snap.omitted[file] !== undefined) return `${file} was not kept in the snapshot: ${snap.omitted[file]}`;
      continue;
    }
    const r = readJson(snap, file, memo);
    if (r.state === 'omitted') return `${file} was not kept in the snapshot: ${r.reason}`;
    if (r.state === 'malformed') return `${file} is not valid JSON (see files-wellformed)`;
  }
  return null;
}

/**
 * Decides whether a release that its files and card show to be a chat/instruct model (chat-release.ts: name or card,
 * turn-terminator EOS, several EOS ids, chat-turn tokens) ships no chat template in tokenizer_config.json,
 * chat_template.jinja or chat_template.json. Emits CHAT_TEMPLATE_MISSING (warning); a release that is not shown to
 * be a chat model passes, and one whose template files could not be read is skipped.
 */
export const chatTemplateMissing: Check = {
  id: 'chat-template-missing',
  title: 'A chat/instruct release ships a chat template',
  queue: 'checks',
  codes: ['CHAT_TEMPLATE_MISSING'],
  run({ release: snap, memo }) {
    if (chatTemplate(snap)) return { status: 'passed' };
    const why = undecidable(memo, snap);
    if (why) return { status: 'skipped', reason: why };
    const { chat, evidence, vetoedBy } = chatReleaseEvidence(memo, snap);
    if (!chat) return { status: 'passed' };
    return {
      status: 'findings',
      findings: [
        {
          code: 'CHAT_TEMPLATE_MISSING',
          severity: 'warning',
          title: 'A chat/instruct release ships no chat template',
          detail: `${evidence.map((e) => e.detail).join('; ')}, but no chat template is in tokenizer_config.json, chat_template.jinja or chat_template.json. transformers before v4.44 silently used a class default template (prompts in a format the model was not trained on); newer versions and chat servers refuse to build a chat prompt (transformers PR #31733). Ship the template the model was trained with.`,
          evidence: { evidence, lookedIn: [...TEMPLATE_FILES], vetoedBy },
          files: TEMPLATE_FILES.filter((f) => snap.files.some((x) => x.path === f)),
        },
      ],
    };
  },
};
