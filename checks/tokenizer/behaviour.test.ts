import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { llama3Files, mistralFiles, snapshotOfFiles } from '../../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import type { Json } from '../../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import { runOne, withCode } from '../../infra/fixtures/tokenizer/run-checks.ts';
import { fastVsSlow } from './tokenizer-fast-slow.ts';
import { legacySpm } from './legacy-spm.ts';
import { tokenizerRoundtrip } from './tokenizer-roundtrip.ts';
import { specialTokenNormalized } from './special-token-normalized.ts';

interface Example {
  text: string;
  fast: { ids: number[]; tokens: string[] };
  slow: { ids: number[]; pieces: string[] };
}

describe('TOKENIZER_FAST_SLOW_MISMATCH (Mistral tokenizer.json against its tokenizer.model)', () => {
  test('the consistent pair agrees on every probe string', async () => {
    assert.equal((await runOne(fastVsSlow, { release: snapshotOfFiles(mistralFiles()) })).status, 'passed');
  });

  test('tokenizer.json converted with prepend_scheme "first" disagrees: " ☀" is ▁ + bytes for the fast tokenizer, ▁▁ + bytes for SentencePiece', async () => {
    const [f] = withCode(
      await runOne(fastVsSlow, { release: snapshotOfFiles(mistralFiles({ perturb: 'prepend-first' })) }),
      'TOKENIZER_FAST_SLOW_MISMATCH',
    );
    assert.equal(f.severity, 'critical');
    const sun = (f.evidence.examples as Example[]).find((e) => e.text === ' ☀');
    assert.ok(sun, 'the space + sun example is in the evidence');
    assert.deepEqual(sun.fast.tokens, ['▁', '<0xE2>', '<0x98>', '<0x80>']);
    assert.deepEqual(sun.slow.pieces, ['▁▁', '<0xE2>', '<0x98>', '<0x80>']);
    assert.ok(f.files.includes('tokenizer.model') && f.files.includes('tokenizer.json'));
  });

  test('a tokenizer.json without byte fallback and one with a dropped merge disagree too', async () => {
    for (const perturb of ['no-byte-fallback', 'dropped-merge'] as const) {
      const [f] = withCode(
        await runOne(fastVsSlow, { release: snapshotOfFiles(mistralFiles({ perturb })) }),
        'TOKENIZER_FAST_SLOW_MISMATCH',
      );
      assert.ok(f, perturb);
      const e = (f.evidence.examples as Example[])[0];
      assert.notDeepEqual(e.fast.ids, e.slow.ids);
    }
  });

  test('a tokenizer.model SentencePiece cannot read is FILE_MALFORMED; without tokenizer.model the check is skipped', async () => {
    const broken = snapshotOfFiles({
      ...mistralFiles({ noModel: true }),
      'tokenizer.model': Uint8Array.from([0x0a, 0xff, 0x01]),
    });
    assert.equal(withCode(await runOne(fastVsSlow, { release: broken }), 'FILE_MALFORMED')[0]?.severity, 'critical');
    assert.equal(
      (await runOne(fastVsSlow, { release: snapshotOfFiles(mistralFiles({ noModel: true })) })).status,
      'skipped',
    );
  });
});

describe('TOKENIZER_ROUNDTRIP', () => {
  test('without byte fallback emoji and tabs decode as <unk>: a warning that counts the unknown tokens', async () => {
    const [f] = withCode(
      await runOne(tokenizerRoundtrip, {
        release: snapshotOfFiles(mistralFiles({ noModel: true, perturb: 'no-byte-fallback' })),
      }),
      'TOKENIZER_ROUNDTRIP',
    );
    assert.equal(f.severity, 'warning');
    assert.match(f.detail, /unknown token/);
    assert.ok((f.evidence.examples as { decoded: string }[]).some((e) => e.decoded.includes('<unk>')));
  });

  test('Mistral gives every probe back; Llama-3 too, apart from an info on clean_up_tokenization_spaces', async () => {
    assert.equal(
      (await runOne(tokenizerRoundtrip, { release: snapshotOfFiles(mistralFiles({ noModel: true })) })).status,
      'passed',
    );
    const llama = await runOne(tokenizerRoundtrip, { release: snapshotOfFiles(llama3Files({ corrected: true })) });
    assert.deepEqual(
      llama.findings.map((f) => `${f.code}/${f.severity}`),
      ['TOKENIZER_ROUNDTRIP/info'],
    );
    assert.equal(llama.findings[0].evidence.field, 'clean_up_tokenization_spaces');
  });
});

describe('SPECIAL_TOKEN_NORMALIZED', () => {
  const normalizedEos = (tj: Json): Json => ({
    ...tj,
    added_tokens: (tj.added_tokens as Json[]).map((t) => (t.content === '</s>' ? { ...t, normalized: true } : t)),
  });

  test('</s> marked normalized is rewritten to ▁</s> by the Metaspace normalizer and missed when glued to text', async () => {
    const [f] = withCode(
      await runOne(specialTokenNormalized, {
        release: snapshotOfFiles(mistralFiles({ noModel: true, tokenizerJson: normalizedEos })),
      }),
      'SPECIAL_TOKEN_NORMALIZED',
    );
    assert.equal(f.evidence.token, '</s>');
    assert.equal(f.evidence.normalizedForm, '▁</s>');
    assert.ok((f.evidence.failing as { text: string }[]).some((x) => x.text === 'x</s>y'));
  });

  test('special tokens with normalized: false pass', async () => {
    assert.equal(
      (await runOne(specialTokenNormalized, { release: snapshotOfFiles(mistralFiles({ noModel: true })) })).status,
      'passed',
    );
  });
});

describe('LEGACY_SPM', () => {
  test('legacy tokenizer.json with legacy: true is an info that shows the extra ▁ after <s>', async () => {
    const [f] = withCode(await runOne(legacySpm, { release: snapshotOfFiles(mistralFiles()) }), 'LEGACY_SPM');
    assert.equal(f.severity, 'info');
    assert.deepEqual((f.evidence.fast as { tokens: string[] }).tokens, ['<s>', '▁Hello']);
  });

  test('a non-legacy tokenizer.json under legacy: true is a warning (the Mistral disagreement)', async () => {
    const [f] = withCode(
      await runOne(legacySpm, { release: snapshotOfFiles(mistralFiles({ perturb: 'prepend-first' })) }),
      'LEGACY_SPM',
    );
    assert.equal(f.severity, 'warning');
    assert.deepEqual((f.evidence.fast as { tokens: string[] }).tokens, ['<s>', 'Hello']);
  });

  test('non-legacy on both sides passes; a byte-level tokenizer has no legacy setting', async () => {
    const r = await runOne(legacySpm, {
      release: snapshotOfFiles(mistralFiles({ perturb: 'prepend-first', tokenizerConfig: { legacy: false } })),
    });
    assert.equal(r.status, 'passed');
    assert.equal(
      (await runOne(legacySpm, { release: snapshotOfFiles(llama3Files({ corrected: true })) })).status,
      'skipped',
    );
  });
});
