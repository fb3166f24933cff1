/**
 * The regression corpus: real release files (test/data/corpus/<release>/, each with provenance.json saying where
 * every file comes from, whether the state is a known bug or believed good, and the codes a known bug must get).
 * Scans every release the way `hubwatch scan <dir> --no-weights` does (lib/scan.ts in-process: one CLI process per
 * release costs ~6 s of start-up on 2 cores), prints recall and false criticals, and fails on any critical finding
 * on a believed-good release.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Finding } from '../checks/types.ts';
import { openTarget, scanSnapshot } from '../lib/scan.ts';
import type { ScanReport } from '../lib/scan.ts';

const DIR = join(import.meta.dirname, 'data/corpus');

interface Provenance {
  model: string;
  state: 'bug' | 'good';
  expect: string[];
  fix: { repo: string; commit: string | null; what: string } | null;
  /** A false critical traced to a check another engineer owns: reported as a TODO until that check is fixed. */
  knownIssue?: { code: string; check: string; why: string };
  files: Record<string, { repo: string; commit: string; path: string }>;
}

const releases = readdirSync(DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => ({
    name: d.name,
    prov: JSON.parse(readFileSync(join(DIR, d.name, 'provenance.json'), 'utf8')) as Provenance,
  }))
  .sort((a, b) => a.name.localeCompare(b.name));

const reports = new Map<string, ScanReport>();
const detected = (f: Finding[], code: string): boolean => f.some((x) => x.code === code && x.severity !== 'info');

before(async () => {
  const started = Date.now();
  for (const r of releases) {
    const opened = await openTarget({ kind: 'dir', path: join(DIR, r.name) }, { hubUrl: 'http://127.0.0.1:9' }, 50e6);
    reports.set(r.name, await scanSnapshot(opened, {}));
  }
  const bugs = releases.filter((r) => r.prov.state === 'bug');
  const expected = bugs.flatMap((r) => r.prov.expect.map((code) => ({ r, code })));
  const hits = expected.filter(({ r, code }) => detected(reports.get(r.name)!.findings, code));
  const falseCriticals = releases
    .filter((r) => r.prov.state === 'good')
    .flatMap((r) =>
      reports
        .get(r.name)!
        .findings.filter((f) => f.severity === 'critical')
        .map((f) => `${r.name}: ${f.code}`),
    );
  console.log(
    `corpus: ${releases.length} releases (${bugs.length} known-bug, ${releases.length - bugs.length} believed-good) ` +
      `scanned in ${Date.now() - started} ms; recall ${hits.length}/${expected.length}; false criticals ${falseCriticals.length}`,
  );
  for (const { r, code } of expected.filter((e) => !hits.includes(e))) console.log(`  missed ${code} on ${r.name}`);
  for (const f of falseCriticals) console.log(`  false critical ${f}`);
});

describe('regression corpus of real releases', () => {
  it("holds at least 60 releases, 25 believed-good, 25 known-bug with the publisher's fixing commit, each file with its provenance", () => {
    assert.ok(releases.length >= 60, `${releases.length} releases`);
    assert.ok(releases.filter((r) => r.prov.state === 'good').length >= 25);
    const fixed = releases.filter((r) => r.prov.state === 'bug' && r.prov.fix?.commit);
    assert.ok(fixed.length >= 25, `${fixed.length} known-bug releases with a fixing commit`);
    for (const r of releases) {
      const files = readdirSync(join(DIR, r.name)).filter((f) => f !== 'provenance.json');
      assert.ok(files.length > 0, r.name);
      for (const f of files) {
        const p = r.prov.files[f];
        assert.ok(p && p.repo && p.commit && p.path, `${r.name}/${f} has a provenance`);
      }
      if (r.prov.state === 'bug')
        assert.ok(r.prov.expect.length > 0 && r.prov.fix, `${r.name}: expected codes and fix`);
    }
  });

  for (const r of releases.filter((x) => x.prov.state === 'good')) {
    const todo = r.prov.knownIssue ? `${r.prov.knownIssue.check}: ${r.prov.knownIssue.why}` : undefined;
    it(`${r.name} (believed good) has no critical finding`, { todo }, () => {
      const crit = reports.get(r.name)!.findings.filter((f) => f.severity === 'critical');
      assert.deepEqual(
        crit.map((f) => `${f.code}: ${f.title}`),
        [],
      );
    });
  }

  it('a large release scanned from its JSON files only (no weights, no tokenizer.json) gets nothing critical from the absence', () => {
    const name = 'mattshumer--Reflection-Llama-3.1-70B@458962e';
    const report = reports.get(name)!;
    const index = JSON.parse(readFileSync(join(DIR, name, 'model.safetensors.index.json'), 'utf8')) as {
      weight_map: Record<string, string>;
    };
    assert.ok(new Set(Object.values(index.weight_map)).size > 100, 'the index names the real 162 shards');
    assert.deepEqual(
      report.findings.filter((f) => f.severity === 'critical').map((f) => f.code),
      [],
    );
    const absent = report.findings.filter((f) => f.code === 'FILE_MALFORMED');
    assert.equal(absent.length, 1);
    assert.equal(absent[0].severity, 'info');
    for (const c of report.checks.filter((x) => /tokenizer-(fast-slow|roundtrip)/.test(x.check)))
      assert.equal(c.status, 'skipped', `${c.check} skipped without tokenizer.json`);
  });
});
