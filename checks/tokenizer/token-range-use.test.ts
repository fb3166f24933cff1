import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { snapshotOf } from '../arch/snapshot-fixture.ts';
import { runCheck } from '../run-check.ts';
import type { Finding, Snapshot } from '../types.ts';
import { tokenIdRange } from './token-id-range.ts';

const CORPUS = join(import.meta.dirname, '../../test/data/corpus');

/** A release of the regression corpus as a snapshot (its JSON files, no weights). */
function corpusRelease(name: string, edit: (texts: Record<string, string>) => void = () => {}): Snapshot {
  const dir = join(CORPUS, name);
  const texts: Record<string, string> = {};
  for (const f of readdirSync(dir).filter((x) => x !== 'provenance.json'))
    texts[f] = readFileSync(join(dir, f), 'utf8');
  edit(texts);
  return snapshotOf({ texts });
}

async function outOfRange(snap: Snapshot): Promise<Finding[]> {
  const r = await runCheck(tokenIdRange, { release: snap });
  assert.notEqual(r.status, 'error', r.error);
  return r.findings.filter((f) => f.code === 'TOKEN_ID_OUT_OF_RANGE');
}

describe('TOKEN_ID_OUT_OF_RANGE: severity follows use', () => {
  it('ids past the embedding that nothing in the release uses are a warning (Reflection-70B first upload)', async () => {
    const f = await outOfRange(corpusRelease('mattshumer--Reflection-Llama-3.1-70B@276a4a0'));
    assert.equal(f.length, 1);
    assert.equal(f[0].severity, 'warning');
    assert.equal(f[0].evidence.count, 6);
    assert.deepEqual(f[0].evidence.used, []);
  });

  it('is critical when the chat template emits one of those tokens', async () => {
    const snap = corpusRelease('mattshumer--Reflection-Llama-3.1-70B@276a4a0', (t) => {
      const cfg = JSON.parse(t['tokenizer_config.json']) as { chat_template: string };
      cfg.chat_template += "{{ '<thinking>' }}";
      t['tokenizer_config.json'] = JSON.stringify(cfg);
    });
    const f = await outOfRange(snap);
    assert.equal(f[0].severity, 'critical');
    assert.equal((f[0].evidence.used as { id: number }[])[0].id, 128256);
  });

  it('is critical when eos/pad point past the embedding', async () => {
    const snap = corpusRelease('mattshumer--Reflection-Llama-3.1-70B@276a4a0', (t) => {
      const gen = JSON.parse(t['generation_config.json']) as Record<string, unknown>;
      gen.eos_token_id = 128300;
      t['generation_config.json'] = JSON.stringify(gen);
    });
    assert.equal((await outOfRange(snap))[0].severity, 'critical');
  });

  it('says nothing once the publisher fixed vocab_size (Reflection-70B after 2d5b978)', async () => {
    assert.deepEqual(await outOfRange(corpusRelease('mattshumer--Reflection-Llama-3.1-70B@458962e')), []);
  });
});
