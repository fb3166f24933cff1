import assert from 'node:assert/strict';
import { test } from 'node:test';
import { llama3Files, mistralFiles, snapshotOfFiles } from '../../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import type { Json } from '../../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import { runOne, withCode } from '../../infra/fixtures/tokenizer/run-checks.ts';
import { templateTokens } from './template-tokens.ts';

const CHATML =
  "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

test('a ChatML template on the Llama-3 tokenizer writes tokens the vocabulary lacks: CHAT_TEMPLATE_UNKNOWN_TOKEN with how they encode', async () => {
  const r = await runOne(templateTokens, {
    release: snapshotOfFiles(llama3Files({ corrected: true, tokenizerConfig: { chat_template: CHATML } })),
  });
  const found = withCode(r, 'CHAT_TEMPLATE_UNKNOWN_TOKEN');
  assert.deepEqual(found.map((f) => f.evidence.literal).sort(), ['<|im_end|>', '<|im_start|>']);
  const enc = found[0].evidence.encodesAs as { ids: number[]; tokens: string[] };
  assert.ok(enc.ids.length > 1);
  assert.equal(found[0].severity, 'warning');
});

test("Llama-3's own template writes only tokens that exist and encode to one id", async () => {
  assert.equal(
    (await runOne(templateTokens, { release: snapshotOfFiles(llama3Files({ corrected: true })) })).status,
    'passed',
  );
});

test('</s> in the vocabulary but not an added token is cut into pieces by BPE: SPECIAL_TOKEN_SPLIT, critical for a special token', async () => {
  const dropEos = (tj: Json): Json => ({
    ...tj,
    added_tokens: (tj.added_tokens as { content: string }[]).filter((t) => t.content !== '</s>'),
  });
  const r = await runOne(templateTokens, {
    release: snapshotOfFiles(mistralFiles({ noModel: true, tokenizerJson: dropEos })),
  });
  const [f] = withCode(r, 'SPECIAL_TOKEN_SPLIT');
  assert.equal(f.evidence.literal, '</s>');
  assert.equal(f.evidence.id, 2);
  assert.equal(f.severity, 'critical');
  assert.ok((f.evidence.encodedAlone as { ids: number[] }).ids.length > 1);
  assert.equal(withCode(r, 'CHAT_TEMPLATE_UNKNOWN_TOKEN').length, 0);
});

test("Mistral's [INST] is plain text in a tokenizer without bracket-shaped control tokens: no finding", async () => {
  assert.equal(
    (await runOne(templateTokens, { release: snapshotOfFiles(mistralFiles({ noModel: true })) })).status,
    'passed',
  );
});
