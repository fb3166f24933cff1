import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  llama3Files,
  mistralFiles,
  snapshotOfFiles,
  withLlama3BosPostProcessor,
} from '../../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import type { Json } from '../../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import { runOne, withCode } from '../../infra/fixtures/tokenizer/run-checks.ts';
import { createCheckMemo } from '../memo.ts';
import { tokenizerFingerprint } from './fingerprint.ts';
import { tokenizerChanged } from './tokenizer-changed.ts';

// llama.cpp convert_hf_to_gguf: `if chkhsh == "0ef9807a…": res = "llama-bpe"` (ref: meta-llama/Meta-Llama-3-8B).
const LLAMA_BPE_CHKHSH = '0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5';

const mistral = (tokenizerJson?: (tj: Json) => Json, sha = 'b'.repeat(40)) =>
  snapshotOfFiles(mistralFiles({ noModel: true, tokenizerJson }), { sha });

describe('tokenizerFingerprint', () => {
  test("equals llama.cpp's chkhsh for Meta-Llama-3-8B's tokenizer.json", () => {
    const fp = tokenizerFingerprint(
      createCheckMemo(),
      snapshotOfFiles(llama3Files({ tokenizerJson: withLlama3BosPostProcessor })),
    );
    assert.ok(fp);
    assert.equal(fp.hash, LLAMA_BPE_CHKHSH);
    assert.equal(fp.probeIds[0], 128000);
    assert.equal(fp.specialTokens['<|eot_id|>'], 128009);
    assert.equal((fp.preTokenizer as { type: string }).type, 'Sequence');
  });

  test('is null without a loadable tokenizer.json', () => {
    assert.equal(tokenizerFingerprint(createCheckMemo(), snapshotOfFiles({ 'config.json': '{}' })), null);
    assert.equal(tokenizerFingerprint(createCheckMemo(), snapshotOfFiles({ 'tokenizer.json': '{"oops"' })), null);
  });
});

describe('TOKENIZER_CHANGED', () => {
  test('the same tokenizer (re-serialized) against the previous revision and the base passes', async () => {
    const reserialized = mistral((tj) => tj, 'c'.repeat(40));
    const r = await runOne(tokenizerChanged, { release: mistral(), previous: reserialized, base: mistral() });
    assert.equal(r.status, 'passed');
  });

  test('a tokenizer.json that differs in a field that does not change any id (truncation) passes after comparing both tokenizers', async () => {
    const truncated = mistral((tj) => ({
      ...tj,
      truncation: { direction: 'Right', max_length: 4096, strategy: 'LongestFirst', stride: 0 },
    }));
    assert.equal((await runOne(tokenizerChanged, { release: truncated, previous: mistral() })).status, 'passed');
  });

  test('two tokens swapping ids is a warning listing the tokens, their ids and the probe strings that changed', async () => {
    const swap = (tj: Json): Json => {
      const model = tj.model as { vocab: Record<string, number> };
      return {
        ...tj,
        model: { ...model, vocab: { ...model.vocab, '▁the': model.vocab['▁a'], '▁a': model.vocab['▁the'] } },
      };
    };
    const [f] = withCode(
      await runOne(tokenizerChanged, { release: mistral(swap), previous: mistral() }),
      'TOKENIZER_CHANGED',
    );
    assert.equal(f.severity, 'warning');
    const vocab = f.evidence.vocab as { changedIdCount: number; changedIds: { token: string }[] };
    assert.equal(vocab.changedIdCount, 2);
    assert.deepEqual(vocab.changedIds.map((c) => c.token).sort(), ['▁a', '▁the']);
    assert.equal((f.evidence.against as { label: string }).label, 'previous revision');
  });

  test('a changed pre-tokenizer against the base model is a warning with before and after', async () => {
    const base = mistral();
    const release = snapshotOfFiles(mistralFiles({ noModel: true, perturb: 'prepend-first' }));
    const [f] = withCode(await runOne(tokenizerChanged, { release, base }), 'TOKENIZER_CHANGED');
    assert.equal(f.severity, 'warning');
    assert.ok(f.evidence.preTokenizer && f.evidence.normalizer);
    assert.equal((f.evidence.against as { label: string }).label, 'base model');
  });

  test('only an added special token is info', async () => {
    const addTool = (tj: Json): Json => ({
      ...tj,
      added_tokens: [
        ...(tj.added_tokens as Json[]),
        {
          id: 32000,
          content: '[TOOL_CALLS]',
          single_word: false,
          lstrip: false,
          rstrip: false,
          normalized: false,
          special: true,
        },
      ],
    });
    const [f] = withCode(
      await runOne(tokenizerChanged, { release: mistral(addTool), base: mistral() }),
      'TOKENIZER_CHANGED',
    );
    assert.equal(f.severity, 'info');
    assert.deepEqual((f.evidence.specialTokens as { added: Json }).added, { '[TOOL_CALLS]': 32000 });
  });

  test('nothing to compare with is skipped', async () => {
    assert.equal((await runOne(tokenizerChanged, { release: mistral() })).status, 'skipped');
  });
});
