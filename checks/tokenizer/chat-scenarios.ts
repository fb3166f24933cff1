/**
 * The canned conversations every chat template is rendered with. Message contents are marker words, so the
 * checks can find each message in the rendered text and look at what the template put around it.
 */
import { jsonObject, tokenString } from '../snapshot-files.ts';
import type { Snapshot } from '../types.ts';

export const MARK = { sys: 'Qx7sys', user1: 'Qx7usr1', asst1: 'Qx7ast1', user2: 'Qx7usr2', asst2: 'Qx7ast2' } as const;

export type ScenarioName = 'system' | 'plain' | 'multi' | 'prompt' | 'open' | 'tools';

export interface Scenario {
  name: ScenarioName;
  /** What the scenario is, for evidence. */
  describe: string;
  context: Record<string, unknown>;
}

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Get the current weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', description: 'City name' } },
      required: ['city'],
    },
  },
};

const msg = (role: string, content: string): { role: string; content: string } => ({ role, content });

/** The special-token variables templates read (`bos_token`, ...), from tokenizer_config.json or special_tokens_map.json. */
export function tokenVariables(snap: Snapshot): Record<string, string> {
  const tc = jsonObject(snap, 'tokenizer_config.json');
  const sm = jsonObject(snap, 'special_tokens_map.json');
  const out: Record<string, string> = {};
  for (const role of ['bos', 'eos', 'pad', 'unk']) {
    const v = tokenString(tc?.[`${role}_token`]) ?? tokenString(sm?.[`${role}_token`]);
    out[`${role}_token`] = v ?? '';
  }
  return out;
}

/**
 * The scenarios for one template: system + user + assistant + user, the same without a system message (templates
 * may reject a system role), two full exchanges, one user turn with and without a generation prompt, and a tool definition when the template
 * mentions tools. A fixed `date_string` keeps templates that print today's date deterministic.
 */
export function chatScenarios(snap: Snapshot, template: string): Scenario[] {
  const base = { ...tokenVariables(snap), date_string: '26 Jul 2024' };
  const s: Scenario[] = [
    {
      name: 'system',
      describe: 'system, user, assistant, user; add_generation_prompt=false',
      context: {
        ...base,
        add_generation_prompt: false,
        messages: [
          msg('system', MARK.sys),
          msg('user', MARK.user1),
          msg('assistant', MARK.asst1),
          msg('user', MARK.user2),
        ],
      },
    },
    {
      name: 'plain',
      describe: 'user, assistant, user; add_generation_prompt=false',
      context: {
        ...base,
        add_generation_prompt: false,
        messages: [msg('user', MARK.user1), msg('assistant', MARK.asst1), msg('user', MARK.user2)],
      },
    },
    {
      name: 'multi',
      describe: 'user, assistant, user, assistant; add_generation_prompt=false',
      context: {
        ...base,
        add_generation_prompt: false,
        messages: [
          msg('user', MARK.user1),
          msg('assistant', MARK.asst1),
          msg('user', MARK.user2),
          msg('assistant', MARK.asst2),
        ],
      },
    },
    {
      name: 'prompt',
      describe: 'user; add_generation_prompt=true',
      context: { ...base, add_generation_prompt: true, messages: [msg('user', MARK.user1)] },
    },
    {
      name: 'open',
      describe: 'user; add_generation_prompt=false',
      context: { ...base, add_generation_prompt: false, messages: [msg('user', MARK.user1)] },
    },
  ];
  if (/\btools\b/.test(template)) {
    s.push({
      name: 'tools',
      describe: 'user with one tool definition; add_generation_prompt=true',
      context: { ...base, add_generation_prompt: true, tools: [WEATHER_TOOL], messages: [msg('user', MARK.user1)] },
    });
  }
  return s;
}
