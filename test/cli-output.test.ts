/**
 * `hubwatch scan` as people read it, run as a child process: findings grouped by severity with what to do, the
 * summary line, check rows only with --verbose, wrapping, colour (FORCE_COLOR / NO_COLOR, and a real TTY through
 * script(1) when it is installed), the progress bar on a TTY only, help and version, folders that are not models,
 * and --previous naming a revision of the same repo (full or short sha; an unknown or ambiguous one exits 2).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildFixture, fixtureByRepo } from '../infra/fixtures/fixtures.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import type { HubMirror } from '../infra/hub-mirror/server.ts';
import { contentSha } from '../infra/hub-mirror/store.ts';

const BUGGY = 'hubwatch-fixtures/tiny-llama3-base-untrained';
const FT = 'hubwatch-fixtures/tiny-llama3-finetune';
let work: string;
let buggy: string;
let mirror: HubMirror;
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

function hubwatch(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base: Record<string, string | undefined> = { ...process.env, HUBWATCH_LOG_LEVEL: 'silent' };
  for (const k of ['FORCE_COLOR', 'NO_COLOR', 'COLUMNS']) delete base[k];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/hubwatch.mjs', ...args],
      { maxBuffer: 64 << 20, env: { ...base, ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hubwatch-cli-out-'));
  buggy = join(work, 'buggy');
  buildFixture(fixtureByRepo(BUGGY), -1, buggy);
  mirror = await startHubMirror({ root: join(work, 'mirror') });
});

after(async () => {
  await mirror.close();
  rmSync(work, { recursive: true, force: true });
});

const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[[0-9;]*m`);

test('grouped by severity with what to do, a summary line, check rows with --verbose, wrapped, FORCE_COLOR', async () => {
  const r = await hubwatch(['scan', buggy, '--no-weights', '--verbose'], { FORCE_COLOR: '1', COLUMNS: '60' });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, ANSI, 'FORCE_COLOR colours even off a TTY');
  const out = r.stdout.replace(new RegExp(ANSI.source, 'g'), '');
  const groups = [...out.matchAll(/^(CRITICAL|WARNING|INFO) \((\d+)\)$/gm)].map((m) => m[1]);
  assert.equal(groups[0], 'CRITICAL');
  assert.deepEqual(
    groups,
    ['CRITICAL', 'WARNING', 'INFO'].filter((g) => groups.includes(g)),
    'in severity order',
  );
  assert.match(out, /What to do: /);
  assert.match(out, /^checks$/m);
  assert.match(out, /^ {2}untrained-tokens +skipped +weights not read/m);
  for (const line of out.split('\n').slice(1)) assert.ok(line.length <= 60, `${line.length}: ${line}`);
  const summary = out.trimEnd().split('\n').slice(-2).join(' ');
  assert.match(summary, /\d+ critical(, \d+ warning)?(, \d+ info)? · \d+ checks( · \d+ skipped)? · \d+\.\d s$/);
});

test('off a TTY: no colour with NO_COLOR or by default, no check rows without --verbose, nothing on stderr', async () => {
  const r = await hubwatch(['scan', buggy, '--no-weights'], { NO_COLOR: '1' });
  assert.doesNotMatch(r.stdout, ANSI);
  assert.doesNotMatch(r.stdout, /^checks$/m);
  assert.match(r.stdout.trimEnd().split('\n').at(-1)!, /^\d+ critical.* · \d+ checks · .*\d+\.\d s$/);
  assert.equal(r.stderr, '');
});

const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test(
  'on a TTY: colour, and a progress bar with bytes and rate on stderr',
  { skip: !hasScript && 'script(1) is not installed' },
  async () => {
    const run = (env: Record<string, string>) =>
      new Promise<string>((resolve) => {
        const cmd = `${process.execPath} bin/hubwatch.mjs scan ${buggy}`;
        execFile(
          'script',
          ['-qec', cmd, '/dev/null'],
          { env: { ...process.env, ...env, HUBWATCH_LOG_LEVEL: 'silent', COLUMNS: '120' } },
          (_e, out) => resolve(out),
        );
      });
    const tty = await run({});
    assert.match(tty, ANSI, 'colour on a TTY');
    assert.match(tty, /\[[#-]{20}\] \d+\/\d+ /, 'the progress bar');
    assert.match(tty, /MB read · [\d.]+ MB\/s/, 'bytes and rate while weights are read');
  },
);

test('help and version', async () => {
  const help = await hubwatch(['scan', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: hubwatch scan/);
  assert.match(help.stdout, /--previous/);
  assert.equal((await hubwatch(['help', 'scan'])).stdout, help.stdout);
  const v = await hubwatch(['--version']);
  assert.equal(v.stdout, `hubwatch ${VERSION}\n`);
});

test('an empty or missing folder exits 2 with a clear message; a path is never tried as a Hub repo', async () => {
  const empty = join(work, 'empty');
  mkdirSync(empty);
  const e = await hubwatch(['scan', empty]);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /is empty: there is no model to scan/);
  for (const path of ['./no/such', '../no-such', '/no/such/dir', '~/no-such-hubwatch-dir']) {
    const r = await hubwatch(['scan', path, '--hub-url', mirror.url]);
    assert.equal(r.code, 2, path);
    assert.match(r.stderr, /no such folder/, path);
  }
});

test('--previous takes a revision of the same repo: a bare short sha or @rev', async () => {
  const r0 = await mirror.publish(FT, (buildFixture(fixtureByRepo(FT), 0, join(work, 'ft0')), join(work, 'ft0')));
  await mirror.publish(FT, (buildFixture(fixtureByRepo(FT), 1, join(work, 'ft1')), join(work, 'ft1')));
  // A short sha as `git log --oneline` prints it is resolved to the one commit on main through the commit list.
  for (const prev of [r0.sha.slice(0, 7), `@${r0.sha}`]) {
    const r = await hubwatch(['scan', FT, '--previous', prev, '--hub-url', mirror.url, '--json', '--no-weights']);
    assert.notEqual(r.code, 2, r.stderr);
    const changed = JSON.parse(r.stdout).checks.find((c: { check: string }) => c.check === 'config-changed');
    assert.notEqual(changed.status, 'skipped', `${prev}: compared with the previous revision`);
  }
  const local = await hubwatch(['scan', buggy, '--previous', r0.sha.slice(0, 7)]);
  assert.equal(local.code, 2);
  assert.match(local.stderr, /names a revision, but the target is a folder/);
});

/** Two README contents whose mirror revision shas share their first 7 hex digits (a birthday search, ~2^14 tries). */
function collidingReadmes(): [string, string] {
  const seen = new Map<string, string>();
  for (let i = 0; ; i++) {
    const text = `# ambiguous ${i}\n`;
    const sha256 = createHash('sha256').update(text).digest('hex');
    const prefix = contentSha([{ path: 'README.md', size: text.length, sha256, gitOid: '', lfs: null }]).slice(0, 7);
    const other = seen.get(prefix);
    if (other !== undefined) return [other, text];
    seen.set(prefix, text);
  }
}

test('a short sha that names no commit, or more than one, exits 2 and says which', async () => {
  const repo = 'hubwatch-fixtures/ambiguous';
  const shas: string[] = [];
  for (const [i, text] of collidingReadmes().entries()) {
    const dir = join(work, `ambiguous-${i}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'README.md'), text);
    shas.push((await mirror.publish(repo, dir)).sha);
  }
  const prefix = shas[0].slice(0, 7);
  assert.equal(shas[1].slice(0, 7), prefix);
  assert.notEqual(shas[0], shas[1]);
  const ambiguous = await hubwatch(['scan', repo, '--previous', prefix, '--hub-url', mirror.url, '--no-weights']);
  assert.equal(ambiguous.code, 2);
  assert.match(
    ambiguous.stderr,
    new RegExp(`${prefix} is ambiguous in ${repo}: .*${shas[1].slice(0, 12)}.*more characters`),
  );
  assert.match(ambiguous.stderr, new RegExp(shas[0].slice(0, 12)));
  const target = await hubwatch(['scan', `${repo}@${prefix}`, '--hub-url', mirror.url, '--no-weights']);
  assert.equal(target.code, 2, 'a short sha in the target is resolved the same way');
  assert.match(target.stderr, /is ambiguous/);
  const unknown = [...'0123456789abcdef'].map((c) => c.repeat(7)).find((p) => !shas.some((s) => s.startsWith(p)));
  const none = await hubwatch(['scan', repo, '--previous', unknown!, '--hub-url', mirror.url, '--no-weights']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, new RegExp(`no commit of ${repo} starts with ${unknown} \\(2 commits on main read\\)`));
});
