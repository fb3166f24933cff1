/**
 * Pickle scanning on pickles generated at test time by python3 (test/security-pickles.py): malicious ones are
 * hand-written opcodes and never loaded. Files are read through the same bounded ranged reader the pipeline uses.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { scanPickles } from '../checks/files/pickle-opcodes.ts';
import { pickleWeights } from '../checks/files/pickle-weights.ts';
import { runCheck } from '../checks/run-check.ts';
import type { CheckContext, CheckRunResult, ReleaseFiles } from '../checks/types.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import { LocalFolderSource } from '../lib/local-source.ts';
import { createReleaseFiles } from '../lib/release-files.ts';
import { buildSnapshot } from '../lib/snapshot-builder.ts';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'hubwatch-pickles-'));
  execFileSync('python3', [join(import.meta.dirname, 'security-pickles.py'), root]);
});
after(() => rmSync(root, { recursive: true, force: true }));

/** Runs the pickle check over a folder; `read` counts the bytes the check read. */
async function scan(dir: string): Promise<{ run: CheckRunResult; read: number }> {
  const source = new LocalFolderSource(join(root, dir));
  const release = await buildSnapshot(source, { repo: `local/${dir}`, sha: 'local' }, { maxFileBytes: 1 << 20 });
  const inner = createReleaseFiles(source);
  let read = 0;
  const files: ReleaseFiles = {
    async readRange(path, start, end) {
      read += end - start;
      return inner.readRange(path, start, end);
    },
  };
  // Only the fields this check reads; the cast keeps the test independent of services it does not use.
  const ctx = { release, files } as unknown as CheckContext;
  return { run: await runCheck(pickleWeights, ctx), read };
}

const dangerousByFile = (r: CheckRunResult): Record<string, string[]> =>
  Object.fromEntries(
    r.findings
      .filter((f) => f.code === 'UNSAFE_PICKLE')
      .map((f) => [f.evidence.file as string, f.evidence.dangerousImports as string[]]),
  );

describe('UNSAFE_PICKLE', () => {
  test('plain and legacy pickles, protocols 0-5: the imports that run code are named', async () => {
    const { run } = await scan('evil');
    assert.deepEqual(dangerousByFile(run), {
      'legacy.pt': ['os.system'],
      'p0-inst.pkl': ['__builtin__.getattr'],
      'p2.pkl': ['os.system'],
      'p3.pkl': ['subprocess.Popen'],
      'p4.pkl': ['posix.system'],
      'p5.pkl': ['builtins.eval'],
    });
    for (const f of run.findings.filter((x) => x.code === 'UNSAFE_PICKLE')) assert.equal(f.severity, 'critical');
  });

  test('torch zip archives: stored, deflated and ZIP64, the data.pkl entry is scanned', async () => {
    const { run } = await scan('evil-zip');
    assert.deepEqual(dangerousByFile(run), {
      'deflated/pytorch_model.bin': ['posix.system'],
      'p2/pytorch_model.bin': ['os.system'],
      'p3/pytorch_model.bin': ['subprocess.Popen'],
      'p4/pytorch_model.bin': ['posix.system'],
      'p5/pytorch_model.bin': ['builtins.eval'],
      'zip64/pytorch_model.bin': ['os.system'],
    });
    const one = run.findings.find((f) => f.code === 'UNSAFE_PICKLE')!;
    assert.deepEqual(one.evidence.entries, ['archive/data.pkl']);
    assert.equal(one.evidence.format, 'zip');
  });

  test('benign pickles of every protocol, plain, legacy and zipped: no UNSAFE_PICKLE', async () => {
    for (const dir of ['benign', 'benign-zip']) {
      const { run } = await scan(dir);
      assert.equal(run.status, 'findings', `${dir}: ${run.error ?? run.reason ?? ''}`);
      assert.deepEqual(
        run.findings.map((f) => f.code),
        ['PICKLE_WEIGHTS'],
        dir,
      );
    }
  });

  test('only the pickle stream is read, not the tensor storage behind it', async () => {
    const { run, read } = await scan('big');
    assert.deepEqual(dangerousByFile(run), {});
    // Two files of 8 MiB of storage each; the zip costs its header and end records, the legacy file one 1 MiB window.
    assert.ok(read < (1 << 20) + 200_000, `read ${read} bytes`);
  });

  test('a .bin that is not a pickle is not reported', async () => {
    const { run } = await scan('not-pickle');
    assert.equal(run.status, 'passed');
  });
});

describe('PICKLE_WEIGHTS', () => {
  test('warning when pickle is the only format, info when safetensors are shipped too', async () => {
    const only = (await scan('benign-zip/p2')).run.findings.find((f) => f.code === 'PICKLE_WEIGHTS')!;
    assert.equal(only.severity, 'warning');
    writeFileSync(join(root, 'benign-zip/p3/model.safetensors'), Buffer.alloc(0));
    const both = (await scan('benign-zip/p3')).run.findings.find((f) => f.code === 'PICKLE_WEIGHTS')!;
    assert.equal(both.severity, 'info');
    assert.deepEqual(both.files, ['pytorch_model.bin']);
  });

  test('without a file reader the pickle weights are still reported, with the scan marked not run', async () => {
    const source = new LocalFolderSource(join(root, 'evil-zip/p2'));
    const release = await buildSnapshot(source, { repo: 'l/x', sha: 'local' }, { maxFileBytes: 1 << 20 });
    const run = await runCheck(pickleWeights, { release } as unknown as CheckContext);
    assert.deepEqual(
      run.findings.map((f) => [f.code, f.evidence.scan]),
      [['PICKLE_WEIGHTS', 'not scanned: no file reader in this environment']],
    );
  });
});

test('property: the opcode scanner never throws and never reads past its input, whatever the bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), fc.integer({ min: 1, max: 6 }), (bytes, n) => {
      const r = scanPickles(bytes, n);
      assert.ok(r.end <= bytes.length);
      for (const s of r.streams) assert.ok(s.end === null || s.end <= bytes.length);
    }),
    { numRuns: 2000 },
  );
});

/** `hubwatch scan … --json` as a child process, as a user runs it. */
function hubwatch(
  args: string[],
): Promise<{ code: number; report: { findings: { code: string; files: string[] }[] } }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['bin/hubwatch.mjs', 'scan', ...args, '--json', '--no-weights'],
      { env: { ...process.env, HUBWATCH_LOG_LEVEL: 'silent' } },
      (err, stdout, stderr) => {
        try {
          resolve({ code: err ? Number(err.code) : 0, report: JSON.parse(stdout) });
        } catch {
          reject(new Error(`no report: ${stderr}`));
        }
      },
    );
  });
}

test('the CLI finds a pytorch_model.bin that runs os.system, in a folder and over the Hub by ranged reads', async () => {
  const dir = join(root, 'evil-zip/p2');
  const local = await hubwatch([dir]);
  assert.equal(local.code, 1, 'a critical finding exits 1');
  assert.ok(local.report.findings.some((f) => f.code === 'UNSAFE_PICKLE' && f.files[0] === 'pytorch_model.bin'));
  const mirror = await startHubMirror({ root: join(root, 'mirror') });
  try {
    await mirror.publish('acme/evil', dir);
    const remote = await hubwatch(['acme/evil', '--hub-url', mirror.url]);
    assert.equal(remote.code, 1);
    assert.deepEqual(
      remote.report.findings
        .filter((f) => f.code === 'UNSAFE_PICKLE' || f.code === 'PICKLE_WEIGHTS')
        .map((f) => f.code),
      ['UNSAFE_PICKLE', 'PICKLE_WEIGHTS'],
    );
  } finally {
    await mirror.close();
  }
});
