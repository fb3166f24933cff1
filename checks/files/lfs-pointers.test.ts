import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openTarget, scanSnapshot } from '../../lib/scan.ts';

const CORPUS = join(import.meta.dirname, '../../test/data/corpus/mattshumer--Reflection-Llama-3.1-70B@458962e');
const pointer = (oid: string, size: number): string =>
  `version https://git-lfs.github.com/spec/v1\noid sha256:${oid.padEnd(64, '0')}\nsize ${size}\n`;

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Reflection-70B's real JSON files with its first two shards and tokenizer.json as git-lfs pointers (a clone without LFS). */
function clonedWithoutLfs(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hubwatch-lfs-'));
  dirs.push(dir);
  for (const f of ['config.json', 'generation_config.json', 'tokenizer_config.json', 'special_tokens_map.json'])
    writeFileSync(join(dir, f), readFileSync(join(CORPUS, f)));
  const index = JSON.parse(readFileSync(join(CORPUS, 'model.safetensors.index.json'), 'utf8')) as {
    weight_map: Record<string, string>;
  };
  const two = new Set(['model-00001-of-00162.safetensors', 'model-00002-of-00162.safetensors']);
  index.weight_map = Object.fromEntries(Object.entries(index.weight_map).filter(([, s]) => two.has(s)));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
  for (const s of two) writeFileSync(join(dir, s), pointer('ab', 4_900_000_000));
  writeFileSync(join(dir, 'tokenizer.json'), pointer('cd', 9_085_698));
  return dir;
}

describe('git-lfs pointers in a local folder', () => {
  it('are one info finding, never a critical FILE_MALFORMED per file', async () => {
    const opened = await openTarget({ kind: 'dir', path: clonedWithoutLfs() }, { hubUrl: 'http://127.0.0.1:9' }, 50e6);
    const report = await scanSnapshot(opened, {});
    assert.deepEqual(
      report.findings.filter((f) => f.severity === 'critical').map((f) => `${f.code}: ${f.title}`),
      [],
    );
    const info = report.findings.filter((f) => f.code === 'FILE_MALFORMED');
    assert.equal(info.length, 1);
    assert.equal(info[0].severity, 'info');
    assert.equal(info[0].evidence.count, 3);
  });

  it('on the Hub a pointer committed as the file itself stays a critical FILE_MALFORMED', async () => {
    const opened = await openTarget({ kind: 'dir', path: clonedWithoutLfs() }, { hubUrl: 'http://127.0.0.1:9' }, 50e6);
    const snap = { ...opened.snapshot, origin: 'hub' as const };
    const report = await scanSnapshot({ ...opened, snapshot: snap }, {});
    const malformed = report.findings.filter((f) => f.code === 'FILE_MALFORMED' && f.severity === 'critical');
    assert.equal(malformed.length, 3);
  });
});
