import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  llama3Files,
  MISTRAL_TEMPLATE,
  mistralFiles,
  snapshotOfFiles,
} from '../../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import { runOne, withCode } from '../../infra/fixtures/tokenizer/run-checks.ts';
import { chatTemplateRenders } from './chat-template.ts';

const NEVER_ENDS = '{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}';
const withTemplate = (chat_template: string) =>
  snapshotOfFiles(mistralFiles({ noModel: true, tokenizerConfig: { chat_template } }));

describe('CHAT_TEMPLATE_ERROR', () => {
  test('a template that raises for a plain user/assistant conversation is critical, with the message and the conversation', async () => {
    const r = await runOne(chatTemplateRenders, {
      release: withTemplate("{{ raise_exception('Unsupported conversation') }}"),
    });
    const [f] = withCode(r, 'CHAT_TEMPLATE_ERROR');
    assert.equal(f.severity, 'critical');
    assert.equal(f.evidence.message, 'Unsupported conversation');
    assert.ok((f.evidence.scenarios as { scenario: string }[]).some((s) => s.scenario === 'plain'));
    assert.equal(withCode(r, 'CHAT_TEMPLATE_ERROR').length, 1, 'one finding per distinct error');
  });

  test('a template that never ends is critical and marked timedOut', async () => {
    const [f] = withCode(
      await runOne(chatTemplateRenders, { release: withTemplate(NEVER_ENDS) }),
      'CHAT_TEMPLATE_ERROR',
    );
    assert.equal(f.severity, 'critical');
    assert.equal(f.evidence.timedOut, true);
    assert.match(f.title, /did not end within/);
  });

  test('a template that does not parse is critical', async () => {
    const [f] = withCode(
      await runOne(chatTemplateRenders, { release: withTemplate('{% for m in messages %}{{ m.content }}') }),
      'CHAT_TEMPLATE_ERROR',
    );
    assert.equal(f.severity, 'critical');
    assert.equal(f.evidence.stage, 'parse');
  });

  test('Jinja2 features @huggingface/jinja lacks (%-formatting, str * int) skip the check naming them; no error', async () => {
    const percent = await runOne(chatTemplateRenders, {
      release: withTemplate("{% for m in messages %}{{ '<%s>' % m.role }}{% endfor %}"),
    });
    assert.equal(percent.status, 'skipped');
    assert.match(percent.reason ?? '', /Python %-formatting of strings/);
    assert.deepEqual(withCode(percent, 'CHAT_TEMPLATE_ERROR'), []);
    const repeat = await runOne(chatTemplateRenders, {
      release: withTemplate("{% for m in messages %}{{ '-' * 3 }}{{ m.content }}{% endfor %}"),
    });
    assert.equal(repeat.status, 'skipped');
    assert.match(repeat.reason ?? '', /str \* int/);
  });

  test("a filter Jinja2 does not have either is the template's error, not a renderer gap", async () => {
    const [f] = withCode(
      await runOne(chatTemplateRenders, {
        release: withTemplate('{% for m in messages %}{{ m.content | no_such_filter }}{% endfor %}'),
      }),
      'CHAT_TEMPLATE_ERROR',
    );
    assert.equal(f.severity, 'critical');
  });

  test('refusing a system message (Mistral v0.1) is a choice, not an error; Llama-3 renders everything', async () => {
    assert.equal((await runOne(chatTemplateRenders, { release: withTemplate(MISTRAL_TEMPLATE) })).status, 'passed');
    const llama = await runOne(chatTemplateRenders, { release: snapshotOfFiles(llama3Files({ corrected: true })) });
    assert.equal(llama.status, 'passed');
  });

  test('a release without a chat template is skipped, with the reason', async () => {
    const r = await runOne(chatTemplateRenders, {
      release: snapshotOfFiles(mistralFiles({ noModel: true, tokenizerConfig: { chat_template: undefined } })),
    });
    assert.equal(r.status, 'skipped');
    assert.match(r.reason ?? '', /no chat template/);
  });
});
