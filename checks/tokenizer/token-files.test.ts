import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { llama3Files, mistralFiles, snapshotOfFiles } from '../../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import type { Json, ReleaseFiles } from '../../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import { runOne, withCode } from '../../infra/fixtures/tokenizer/run-checks.ts';
import type { Snapshot } from '../types.ts';
import { padEqEos } from './pad-eq-eos.ts';
import { specialTokenIds } from './special-token-ids.ts';
import { tokenIdRange } from './token-id-range.ts';

const mistral = (o: Parameters<typeof mistralFiles>[0] = {}): Snapshot =>
  snapshotOfFiles(mistralFiles({ noModel: true, ...o }));
const withConfig = (files: ReleaseFiles, name: string, o: Json): ReleaseFiles => ({
  ...files,
  [name]: JSON.stringify({ ...JSON.parse(String(files[name])), ...o }),
});

/** The snapshot with a safetensors header that gives the embedding `rows` rows. */
function withEmbedding(snap: Snapshot, rows: number): Snapshot {
  const name = 'model.embed_tokens.weight';
  snap.safetensors = {
    index: null,
    files: [{ path: 'model.safetensors', size: rows * 128, headerLength: 8, metadata: null }],
    tensors: {
      [name]: { name, dtype: 'BF16', shape: [rows, 64], file: 'model.safetensors', dataOffsets: [0, rows * 128] },
    },
    errors: [],
  };
  return snap;
}

describe('SPECIAL_TOKEN_ID_MISMATCH', () => {
  test('consistent files pass (Mistral; corrected Llama-3 whose generation eos list contains the tokenizer eos)', async () => {
    assert.equal((await runOne(specialTokenIds, { release: mistral() })).status, 'passed');
    assert.equal(
      (await runOne(specialTokenIds, { release: snapshotOfFiles(llama3Files({ corrected: true })) })).status,
      'passed',
    );
  });

  test('generation_config eos disjoint from the tokenizer eos is critical, naming both files', async () => {
    const snap = snapshotOfFiles(
      withConfig(mistralFiles({ noModel: true }), 'generation_config.json', { eos_token_id: 32000 - 1 }),
    );
    const [f] = withCode(await runOne(specialTokenIds, { release: snap }), 'SPECIAL_TOKEN_ID_MISMATCH');
    assert.equal(f.severity, 'critical');
    assert.equal(f.evidence.role, 'eos');
    assert.ok(f.files.includes('generation_config.json') && f.files.includes('tokenizer_config.json'));
  });

  test('config.json bos_token_id differing from the tokenizer bos is a warning', async () => {
    const snap = snapshotOfFiles(withConfig(mistralFiles({ noModel: true }), 'config.json', { bos_token_id: 0 }));
    const [f] = withCode(await runOne(specialTokenIds, { release: snap }), 'SPECIAL_TOKEN_ID_MISMATCH');
    assert.equal(f.severity, 'warning');
    assert.equal(f.evidence.role, 'bos');
  });

  test('an eos_token that is not in the vocabulary is critical', async () => {
    const [f] = withCode(
      await runOne(specialTokenIds, { release: mistral({ tokenizerConfig: { eos_token: '<|im_end|>' } }) }),
      'SPECIAL_TOKEN_ID_MISMATCH',
    );
    assert.equal(f.severity, 'critical');
    assert.match(f.title, /<\|im_end\|> is not a token/);
  });

  test('added_tokens.json giving </s> another id than tokenizer.json is critical, with both entries', async () => {
    const [f] = withCode(
      await runOne(specialTokenIds, {
        release: mistral({ extra: { 'added_tokens.json': JSON.stringify({ '</s>': 32000 }) } }),
      }),
      'SPECIAL_TOKEN_ID_MISMATCH',
    );
    assert.equal(f.severity, 'critical');
    const entries = f.evidence.entries as { file: string; id: number }[];
    assert.deepEqual(entries.map((e) => [e.file, e.id]).sort(), [
      ['added_tokens.json', 32000],
      ['tokenizer.json', 2],
      ['tokenizer_config.json', 2],
    ]);
  });
});

describe('TOKEN_ID_OUT_OF_RANGE and VOCAB_SIZE_MISMATCH', () => {
  test('Llama-3 files with config.json vocab_size 128000 put the 256 added tokens out of range', async () => {
    const r = await runOne(tokenIdRange, {
      release: snapshotOfFiles(llama3Files({ corrected: true, config: { vocab_size: 128000 } })),
    });
    const [f] = withCode(r, 'TOKEN_ID_OUT_OF_RANGE');
    assert.equal(f.severity, 'critical');
    assert.ok(Number(f.evidence.count) >= 256);
    assert.deepEqual(f.evidence.rows, { rows: 128000, file: 'config.json', field: 'vocab_size' });
  });

  test('the embedding rows from the safetensors header win over config.json', async () => {
    const r = await runOne(tokenIdRange, { release: withEmbedding(mistral(), 31990) });
    const oor = withCode(r, 'TOKEN_ID_OUT_OF_RANGE')[0];
    assert.equal((oor.evidence.rows as { rows: number }).rows, 31990);
    const vs = withCode(r, 'VOCAB_SIZE_MISMATCH');
    assert.ok(
      vs.some((f) => f.severity === 'warning' && /vocab_size is 32000 but the embedding has 31990/.test(f.title)),
    );
  });

  test('matching sizes pass; padding rows are only info', async () => {
    assert.equal((await runOne(tokenIdRange, { release: withEmbedding(mistral(), 32000) })).status, 'passed');
    const padded = await runOne(tokenIdRange, {
      release: withEmbedding(
        snapshotOfFiles(withConfig(mistralFiles({ noModel: true }), 'config.json', { vocab_size: 32768 })),
        32768,
      ),
    });
    assert.deepEqual(
      padded.findings.map((f) => `${f.code}/${f.severity}`),
      ['VOCAB_SIZE_MISMATCH/info'],
    );
  });

  test('ids with no token in tokenizer.json (a regenerated file that lost tokens) are a warning', async () => {
    const holes = (tj: Json): Json => {
      const model = tj.model as { vocab: Record<string, number> };
      const vocab = Object.fromEntries(Object.entries(model.vocab).filter(([, id]) => id < 3 || id > 13));
      return { ...tj, model: { ...model, vocab } };
    };
    const [f] = withCode(
      await runOne(tokenIdRange, { release: mistral({ tokenizerJson: holes }) }),
      'VOCAB_SIZE_MISMATCH',
    );
    assert.equal(f.evidence.missing, 11);
    assert.deepEqual((f.evidence.firstMissing as number[]).slice(0, 3), [3, 4, 5]);
  });

  test('tokenizer.model and tokenizer.json of different sizes are a warning', async () => {
    const grow = (tj: Json): Json => ({
      ...tj,
      model: { ...(tj.model as Json), vocab: { ...((tj.model as Json).vocab as Json), '▁hubwatch': 32000 } },
    });
    const r = await runOne(tokenIdRange, { release: snapshotOfFiles(mistralFiles({ tokenizerJson: grow })) });
    assert.ok(
      withCode(r, 'VOCAB_SIZE_MISMATCH').some((f) =>
        /tokenizer\.model has 32000 pieces but tokenizer\.json's vocabulary has 32001/.test(f.title),
      ),
    );
  });
});

describe('PAD_EQ_EOS', () => {
  test('pad token = eos token is a warning', async () => {
    const [f] = withCode(
      await runOne(padEqEos, { release: mistral({ tokenizerConfig: { pad_token: '</s>' } }) }),
      'PAD_EQ_EOS',
    );
    assert.equal(f.severity, 'warning');
  });

  test('a distinct pad token passes', async () => {
    assert.equal(
      (await runOne(padEqEos, { release: mistral({ tokenizerConfig: { pad_token: '<unk>' } }) })).status,
      'passed',
    );
  });
});
