import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { llama3Files, qwen3Files, snapshotOfFiles } from '../../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import { runChecks, runOne, withCode } from '../../infra/fixtures/tokenizer/run-checks.ts';
import type { Snapshot } from '../types.ts';
import { chatTemplateRenders } from './chat-template.ts';
import { chatTemplateDupSystem } from './chat-template-dup-system.ts';
import { chatTemplateGenPrompt } from './chat-template-gen-prompt.ts';
import { chatTemplateMissing } from './chat-template-missing.ts';

const DIR = new URL('../../test/data/templates/', import.meta.url);
const PROVENANCE = JSON.parse(readFileSync(new URL('provenance.json', DIR), 'utf8')) as Record<
  string,
  { model: string; variables: Record<string, string>; expect: string[] }
>;
const realTemplate = (name: string): string => readFileSync(new URL(`${name}.jinja`, DIR), 'utf8');

/** A release holding only tokenizer_config.json with the template and the special-token variables it names. */
function withTemplate(template: string, variables: Record<string, string> = {}): Snapshot {
  return snapshotOfFiles({ 'tokenizer_config.json': JSON.stringify({ ...variables, chat_template: template }) });
}

const QWEN25 = 'SakuraLLM--Sakura-14B-Qwen2.5-v1.0';
const LLAMA3 = 'meta-llama--Meta-Llama-3-8B-Instruct_at_2024-04';
const BEHAVIOUR = [chatTemplateRenders, chatTemplateGenPrompt, chatTemplateDupSystem];

describe('real chat templates (test/data/templates, with provenance)', () => {
  for (const [name, p] of Object.entries(PROVENANCE)) {
    const expected = p.expect.length ? p.expect.join(', ') : 'no generation-prompt or system finding';
    test(`${p.model} (${name}): renders every canned conversation; ${expected}`, async () => {
      const runs = await runChecks(BEHAVIOUR, { release: withTemplate(realTemplate(name), p.variables) });
      for (const r of runs) assert.notEqual(r.status, 'error', `${r.check}: ${r.error}`);
      assert.deepEqual(withCode({ findings: runs.flatMap((r) => r.findings) }, 'CHAT_TEMPLATE_ERROR'), []);
      const codes = runs.flatMap((r) => r.findings.map((f) => f.code));
      assert.deepEqual(codes, p.expect, JSON.stringify(runs.flatMap((r) => r.findings)));
    });
  }
});

describe('CHAT_TEMPLATE_GEN_PROMPT', () => {
  const qwen = realTemplate(QWEN25);
  const guard = '{%- if add_generation_prompt %}';
  test('the Qwen2.5 template with its generation-prompt guard removed appends the header regardless', async () => {
    assert.ok(qwen.includes(guard));
    const always = qwen.replace(guard, '{%- if true %}');
    const [f] = withCode(
      await runOne(chatTemplateGenPrompt, { release: withTemplate(always) }),
      'CHAT_TEMPLATE_GEN_PROMPT',
    );
    assert.equal(f.severity, 'warning');
    assert.equal(f.evidence.addGenerationPrompt, 'false');
    assert.equal(f.evidence.assistantRole, 'assistant');
    assert.match(String(f.evidence.tailWithoutPrompt), /<\|im_start\|>assistant/);
  });

  test('the same template with its generation prompt never written leaves inference without the assistant turn', async () => {
    const never = qwen.replace(guard, '{%- if false %}');
    const [f] = withCode(
      await runOne(chatTemplateGenPrompt, { release: withTemplate(never) }),
      'CHAT_TEMPLATE_GEN_PROMPT',
    );
    assert.equal(f.evidence.addGenerationPrompt, 'true');
    assert.doesNotMatch(String(f.evidence.tailWithPrompt), /assistant/);
  });

  test('a template with no role-named assistant header ([INST] style) passes', async () => {
    const inst =
      "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}[INST] {{ m.content }} [/INST]{% else %}{{ m.content }}{{ eos_token }}{% endif %}{% endfor %}";
    const r = await runOne(chatTemplateGenPrompt, {
      release: withTemplate(inst, { bos_token: '<s>', eos_token: '</s>' }),
    });
    assert.equal(r.status, 'passed');
  });
});

describe('CHAT_TEMPLATE_DUP_SYSTEM', () => {
  const llama3 = realTemplate(LLAMA3);
  test("a system block written before a loop that renders every message shows the user's system message twice", async () => {
    const twice = `{% if messages[0]['role'] == 'system' %}<|start_header_id|>system<|end_header_id|>\n\n{{ messages[0]['content'] }}<|eot_id|>{% endif %}${llama3}`;
    const [f] = withCode(
      await runOne(chatTemplateDupSystem, { release: withTemplate(twice, PROVENANCE[LLAMA3].variables) }),
      'CHAT_TEMPLATE_DUP_SYSTEM',
    );
    assert.equal(f.severity, 'warning');
    assert.equal(f.evidence.occurrences, 2);
  });

  test("a default system turn written before the Qwen2.5 template's own is found, with the default's text", async () => {
    const always = `{{- '<|im_start|>system\\nYou are a careful translation assistant for novels.<|im_end|>\\n' }}${realTemplate(QWEN25)}`;
    const [f] = withCode(
      await runOne(chatTemplateDupSystem, { release: withTemplate(always) }),
      'CHAT_TEMPLATE_DUP_SYSTEM',
    );
    assert.match(String(f.evidence.defaultPrompt), /careful translation assistant/);
    assert.equal(f.evidence.role, 'system');
  });

  test('a template that refuses the system role is skipped, not flagged', async () => {
    const refuses =
      "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}<start_of_turn>{{ m.role }}\n{{ m.content }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";
    const r = await runOne(chatTemplateDupSystem, { release: withTemplate(refuses) });
    assert.equal(r.status, 'skipped');
  });
});

describe('CHAT_TEMPLATE_MISSING', () => {
  const noTemplate = { chat_template: undefined };
  test("Meta-Llama-3-8B-Instruct's files without their template: a warning naming the evidence", async () => {
    const release = snapshotOfFiles(llama3Files({ tokenizerConfig: noTemplate }), {
      repo: 'meta-llama/Meta-Llama-3-8B-Instruct',
    });
    const [f] = withCode(await runOne(chatTemplateMissing, { release }), 'CHAT_TEMPLATE_MISSING');
    assert.equal(f.severity, 'warning');
    const kinds = (f.evidence.evidence as { kind: string }[]).map((e) => e.kind);
    assert.ok(kinds.includes('name') && kinds.includes('turn-tokens'), kinds.join());
  });

  test('the same tokenizer files as the base Meta-Llama-3-8B ships them (no template) pass', async () => {
    const release = snapshotOfFiles(llama3Files({ tokenizerConfig: noTemplate }), {
      repo: 'meta-llama/Meta-Llama-3-8B',
    });
    assert.equal((await runOne(chatTemplateMissing, { release })).status, 'passed');
  });

  test('Qwen3 files without a template: its EOS <|im_end|> ends a turn, so it is a chat release whatever its name', async () => {
    const release = snapshotOfFiles(qwen3Files({ tokenizerConfig: noTemplate }), { repo: 'Qwen/Qwen3-8B' });
    const [f] = withCode(await runOne(chatTemplateMissing, { release }), 'CHAT_TEMPLATE_MISSING');
    assert.ok((f.evidence.evidence as { kind: string }[]).some((e) => e.kind === 'eos-terminator'));
    const base = snapshotOfFiles(qwen3Files({ tokenizerConfig: noTemplate }), { repo: 'Qwen/Qwen3-8B-Base' });
    assert.equal((await runOne(chatTemplateMissing, { release: base })).status, 'passed', 'a base name vetoes');
  });

  test('a release with its template passes; an unreadable tokenizer_config.json is skipped, not flagged', async () => {
    const shipped = snapshotOfFiles(llama3Files(), { repo: 'meta-llama/Meta-Llama-3-8B-Instruct' });
    assert.equal((await runOne(chatTemplateMissing, { release: shipped })).status, 'passed');
    const files = llama3Files({ tokenizerConfig: noTemplate });
    const omitted = snapshotOfFiles(files, {
      repo: 'meta-llama/Meta-Llama-3-8B-Instruct',
      omitted: { 'tokenizer_config.json': 'over the size cap' },
    });
    assert.equal((await runOne(chatTemplateMissing, { release: omitted })).status, 'skipped');
  });
});
