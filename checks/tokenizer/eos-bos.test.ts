import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  llama3Files,
  MISTRAL_TEMPLATE,
  mistralFiles,
  snapshotOfFiles,
  withLlama3BosPostProcessor,
} from '../../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import { runOne, withCode } from '../../infra/fixtures/tokenizer/run-checks.ts';
import { bosCount } from './bos-count.ts';
import { eosVsTemplate } from './eos-vs-template.ts';

describe('EOS_MISMATCH on the real Llama-3-Instruct files', () => {
  test('the original release (eos <|end_of_text|>, turns end with <|eot_id|>) is critical, with the terminator and the EOS files as evidence', async () => {
    const r = await runOne(eosVsTemplate, { release: snapshotOfFiles(llama3Files()) });
    const [f] = withCode(r, 'EOS_MISMATCH');
    assert.equal(f.severity, 'critical');
    assert.deepEqual(f.evidence.terminator, { token: '<|eot_id|>', id: 128009 });
    const eos = f.evidence.eos as { file: string; ids: number[]; tokens: string[] }[];
    assert.deepEqual(eos.find((e) => e.file === 'generation_config.json')?.ids, [128001]);
    assert.deepEqual(eos.find((e) => e.file === 'tokenizer_config.json')?.tokens, ['<|end_of_text|>']);
    assert.match(String(f.evidence.renderedExcerpt), /Qx7ast1<\|eot_id\|>/);
    assert.ok(f.files.includes('generation_config.json') && f.files.includes('tokenizer_config.json'));
  });

  test('the corrected release (generation eos [128001, 128009], tokenizer eos <|eot_id|>) passes', async () => {
    const r = await runOne(eosVsTemplate, { release: snapshotOfFiles(llama3Files({ corrected: true })) });
    assert.equal(r.status, 'passed');
  });

  test('a tokenizer-only fix is a warning: generate() still stops only on generation_config.json', async () => {
    const r = await runOne(eosVsTemplate, {
      release: snapshotOfFiles(llama3Files({ corrected: true, generationConfig: { eos_token_id: 128001 } })),
    });
    const [f] = withCode(r, 'EOS_MISMATCH');
    assert.equal(f.severity, 'warning');
    assert.match(f.title, /generation_config\.json/);
  });

  test('Mistral turns end with </s>, the EOS: passes', async () => {
    assert.equal((await runOne(eosVsTemplate, { release: snapshotOfFiles(mistralFiles()) })).status, 'passed');
  });
});

describe('DOUBLE_BOS and CHAT_TEMPLATE_MISSING_BOS', () => {
  test('a template that writes BOS twice is critical', async () => {
    const snap = snapshotOfFiles(
      mistralFiles({ tokenizerConfig: { chat_template: `{{ bos_token }}${MISTRAL_TEMPLATE}` } }),
    );
    const [f] = withCode(await runOne(bosCount, { release: snap }), 'DOUBLE_BOS');
    assert.equal(f.severity, 'critical');
    assert.equal(f.evidence.templateBosCount, 2);
  });

  test("Meta's Llama-3 tokenizer.json adds <|begin_of_text|> and the template writes it too: DOUBLE_BOS warning with the post-processor as evidence", async () => {
    const snap = snapshotOfFiles(llama3Files({ corrected: true, tokenizerJson: withLlama3BosPostProcessor }));
    const [f] = withCode(await runOne(bosCount, { release: snap }), 'DOUBLE_BOS');
    assert.equal(f.severity, 'warning');
    const sources = f.evidence.tokenizerAddsBos as { file: string; adds: boolean; ids?: number[] }[];
    assert.deepEqual(sources.find((s) => s.file === 'tokenizer.json')?.ids?.[0], 128000);
  });

  test('one BOS from the template and none from the tokenizer passes (the npm Llama-3 files)', async () => {
    assert.equal(
      (await runOne(bosCount, { release: snapshotOfFiles(llama3Files({ corrected: true })) })).status,
      'passed',
    );
  });

  test('a template without BOS for a tokenizer that adds BOS to plain text is CHAT_TEMPLATE_MISSING_BOS', async () => {
    const snap = snapshotOfFiles(
      mistralFiles({ tokenizerConfig: { chat_template: MISTRAL_TEMPLATE.replace('{{ bos_token }}', '') } }),
    );
    const r = await runOne(bosCount, { release: snap });
    const [f] = withCode(r, 'CHAT_TEMPLATE_MISSING_BOS');
    assert.equal(f.severity, 'warning');
    assert.equal(f.evidence.templateBosCount, 0);
    assert.equal(withCode(r, 'DOUBLE_BOS').length, 0);
  });

  test('no BOS anywhere (template, post-processor, add_bos_token) passes: the model does not use one', async () => {
    const snap = snapshotOfFiles(
      mistralFiles({
        tokenizerConfig: { chat_template: MISTRAL_TEMPLATE.replace('{{ bos_token }}', ''), add_bos_token: false },
        tokenizerJson: (tj) => ({ ...tj, post_processor: null }),
      }),
    );
    assert.equal((await runOne(bosCount, { release: snap })).status, 'passed');
  });
});
