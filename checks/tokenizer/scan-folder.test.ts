/**
 * What `hubwatch scan <dir>` does for a folder holding only tokenizer and config files: build the snapshot from
 * the folder and run every registered check.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  llama3Files,
  mistralFiles,
  qwen3Files,
  writeReleaseFiles,
} from '../../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import type { ReleaseFiles } from '../../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import { runChecks } from '../../infra/fixtures/tokenizer/run-checks.ts';
import { LocalFolderSource } from '../../lib/local-source.ts';
import { buildSnapshot } from '../../lib/snapshot-builder.ts';
import { ALL_CHECKS } from '../index.ts';
import type { CheckRunResult } from '../types.ts';
import { TOKENIZER_CHECKS } from './tokenizer-checks.ts';

const work = mkdtempSync(join(tmpdir(), 'hubwatch-tokscan-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function scan(name: string, files: ReleaseFiles): Promise<CheckRunResult[]> {
  const dir = join(work, name);
  writeReleaseFiles(dir, files);
  const snap = await buildSnapshot(
    new LocalFolderSource(dir),
    { repo: `local/${name}`, sha: '0'.repeat(40) },
    { maxFileBytes: 64 << 20 },
  );
  return runChecks(ALL_CHECKS, { release: snap });
}

const tokenizerIds = new Set(TOKENIZER_CHECKS.map((c) => c.id));
const codes = (runs: CheckRunResult[]): string[] =>
  runs.flatMap((r) => r.findings.map((f) => `${f.code}/${f.severity}`));

test('every tokenizer check is registered', () => {
  for (const id of tokenizerIds)
    assert.ok(
      ALL_CHECKS.some((c) => c.id === id),
      id,
    );
});

test('the original Llama-3-Instruct files give EOS_MISMATCH (critical); no tokenizer check errors', async () => {
  const runs = await scan('llama3-original', llama3Files());
  assert.ok(codes(runs).includes('EOS_MISMATCH/critical'));
  assert.deepEqual(
    runs.filter((r) => tokenizerIds.has(r.check) && r.status === 'error'),
    [],
  );
});

test('the corrected Llama-3-Instruct files give no tokenizer warning or critical', async () => {
  const runs = await scan('llama3-corrected', llama3Files({ corrected: true }));
  const bad = runs
    .filter((r) => tokenizerIds.has(r.check))
    .flatMap((r) => r.findings)
    .filter((f) => f.severity !== 'info');
  assert.deepEqual(bad, []);
  assert.deepEqual(
    runs.filter((r) => tokenizerIds.has(r.check) && r.status === 'error'),
    [],
  );
});

test('Mistral with a tokenizer.json converted non-legacy: the binary tokenizer.model is read from the folder and the fast/slow mismatch found', async () => {
  const runs = await scan('mistral-prepend-first', mistralFiles({ perturb: 'prepend-first' }));
  const c = codes(runs);
  assert.ok(c.includes('TOKENIZER_FAST_SLOW_MISMATCH/critical'), c.join(' '));
  assert.ok(c.includes('LEGACY_SPM/warning'), c.join(' '));
  assert.equal(runs.find((r) => r.check === 'tokenizer-fast-slow')?.status, 'findings');
});

test('the consistent Mistral pair: fast and slow agree', async () => {
  const runs = await scan('mistral', mistralFiles());
  assert.equal(runs.find((r) => r.check === 'tokenizer-fast-slow')?.status, 'passed');
  assert.ok(!codes(runs).some((x) => x.endsWith('/critical')), codes(runs).join(' '));
});

test('Qwen3 as shipped (ChatML with tools and <think>, no BOS): no tokenizer warning or critical, and the tools conversation rendered', async () => {
  const runs = await scan('qwen3', qwen3Files());
  const mine = runs.filter((r) => tokenizerIds.has(r.check));
  assert.deepEqual(
    mine.flatMap((r) => r.findings).filter((f) => f.severity !== 'info'),
    [],
  );
  assert.deepEqual(
    mine.filter((r) => r.status === 'error'),
    [],
  );
  assert.equal(runs.find((r) => r.check === 'template-tokens')?.status, 'passed');
  // The template mentions tools, so the tools scenario is among those rendered; a failure there would be a finding.
  assert.equal(runs.find((r) => r.check === 'chat-template')?.status, 'passed');
});

test("Qwen3 with the base model's eos (<|endoftext|>, also the pad) under the ChatML template: EOS_MISMATCH and PAD_EQ_EOS", async () => {
  const c = codes(await scan('qwen3-base-eos', qwen3Files({ tokenizerConfig: { eos_token: '<|endoftext|>' } })));
  assert.ok(c.includes('EOS_MISMATCH/critical'), c.join(' '));
  assert.ok(c.includes('PAD_EQ_EOS/warning'), c.join(' '));
});
