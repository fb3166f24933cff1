/**
 * Hostile and broken releases, each scanned by `hubwatch scan --json` in a child process measured by
 * /usr/bin/time: every case gives its finding within 10 s and 500 MB of resident memory.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import { HubSource } from '../lib/hub-client.ts';
import { buildSnapshot } from '../lib/snapshot-builder.ts';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'hubwatch-hostile-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

interface Scan {
  findings: { code: string; severity: string; files: string[]; title: string }[];
  checks: { check: string; status: string; reason?: string }[];
  wallS: number;
  rssMb: number;
}

/**
 * Scans a folder with the CLI under /usr/bin/time -v; resolves with the report, the peak RSS of the whole process,
 * and the scan's wall time: from the CLI's first progress line ("reading …") to its exit, so that module loading
 * (seconds under tsx on a loaded machine, the same for every release) is not counted against the case.
 */
function scan(dir: string): Promise<Scan> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      '/usr/bin/time',
      ['-v', process.execPath, 'bin/hubwatch.mjs', 'scan', dir, '--json', '--no-weights'],
      {
        env: { ...process.env, HUBWATCH_LOG_LEVEL: 'silent' },
      },
    );
    let stdout = '';
    let stderr = '';
    let started = 0;
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
      if (!started && stderr.includes('reading')) started = performance.now();
    });
    child.on('close', () => {
      const wallS = (performance.now() - started) / 1000;
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      try {
        const report = JSON.parse(stdout) as Omit<Scan, 'wallS' | 'rssMb'>;
        resolve({ ...report, wallS: started ? wallS : NaN, rssMb: Number(rss?.[1]) / 1024 });
      } catch {
        reject(new Error(`no report for ${dir}: ${stderr.slice(-2000)}`));
      }
    });
  });
}

/** A release folder with a valid small config unless `files` replaces it. */
function release(name: string, files: Record<string, string | Buffer>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const all = { 'config.json': JSON.stringify({ model_type: 'llama', architectures: ['LlamaForCausalLM'] }), ...files };
  for (const [p, content] of Object.entries(all)) writeFileSync(join(dir, p), content);
  return dir;
}

const BUDGET = { wallS: 10, rssMb: 500 };

function expectFinding(r: Scan, code: string, file: string): void {
  const hit = r.findings.find((f) => f.code === code && f.files.includes(file));
  assert.ok(hit, `${code} on ${file}; got ${JSON.stringify(r.findings.map((f) => [f.code, f.files]))}`);
  process.stderr.write(`# ${code} ${file}: scan ${r.wallS.toFixed(2)} s, peak RSS ${r.rssMb.toFixed(0)} MB\n`);
  assert.ok(r.wallS < BUDGET.wallS, `took ${r.wallS} s`);
  assert.ok(r.rssMb < BUDGET.rssMb, `peak RSS ${r.rssMb.toFixed(0)} MB`);
}

describe('hostile releases: a finding within 10 s and 500 MB', () => {
  test('a 50 MB config.json is not read', async () => {
    const big = `{"a":[${'1,'.repeat(25 << 20)}1]}`;
    const r = await scan(release('big-config', { 'config.json': big }));
    expectFinding(r, 'FILE_TOO_LARGE', 'config.json');
    assert.match(r.findings.find((f) => f.code === 'FILE_TOO_LARGE')!.title, /4194304-byte limit/);
  });

  test('a config.json nested 500k deep is refused unparsed', async () => {
    const deep = `{"a":${'['.repeat(500_000)}${']'.repeat(500_000)}}`;
    const r = await scan(release('deep-config', { 'config.json': deep }));
    expectFinding(r, 'FILE_MALFORMED', 'config.json');
    assert.match(JSON.stringify(r.findings), /nested deeper than 64 levels/);
  });

  test('a safetensors header claiming 100 MB is refused without reading it', async () => {
    const dir = release('huge-header', {});
    const file = join(dir, 'model.safetensors');
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(100_000_000n);
    writeFileSync(file, head);
    truncateSync(file, 100_000_000 + 8 + 16); // sparse: the claim is consistent with the file size
    const r = await scan(dir);
    expectFinding(r, 'FILE_MALFORMED', 'model.safetensors');
    assert.match(JSON.stringify(r.findings), /exceeds the 16777216-byte cap/);
  });

  test('a million added tokens are refused, by size or by count', async () => {
    const tokens = Object.fromEntries(Array.from({ length: 1_000_000 }, (_, i) => [`<t${i}>`, 200_000 + i]));
    expectFinding(
      await scan(release('added-1m', { 'added_tokens.json': JSON.stringify(tokens) })),
      'FILE_TOO_LARGE',
      'added_tokens.json',
    );
    const list = Array.from({ length: 100_000 }, (_, i) => ({ id: i, content: `<t${i}>`, special: true }));
    const r = await scan(
      release('added-100k', { 'tokenizer.json': JSON.stringify({ added_tokens: list, model: {} }) }),
    );
    expectFinding(r, 'FILE_TOO_LARGE', 'tokenizer.json');
    assert.match(r.findings.find((f) => f.files.includes('tokenizer.json'))!.title, /100000 added tokens/);
  });

  test('invalid UTF-8 and a config that is not an object are FILE_MALFORMED, never a silent ok', async () => {
    const bad = Buffer.concat([Buffer.from('{"model_type":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expectFinding(await scan(release('bad-utf8', { 'config.json': bad })), 'FILE_MALFORMED', 'config.json');
    for (const top of ['[]', '42', 'null']) {
      const r = await scan(release(`not-object-${top}`, { 'config.json': top }));
      expectFinding(r, 'FILE_MALFORMED', 'config.json');
      assert.equal(r.findings.find((f) => f.code === 'FILE_MALFORMED')!.severity, 'critical');
    }
  });

  test('symlinks out of the folder and special files are skipped with the reason, never followed', async () => {
    const outside = join(root, 'outside-secret.json');
    writeFileSync(outside, JSON.stringify({ model_type: 'llama', secret: 'outside' }));
    const dir = release('links', { 'inside.json': '{"a":1}' });
    rmSync(join(dir, 'config.json'));
    symlinkSync(outside, join(dir, 'config.json'));
    symlinkSync(join(dir, 'inside.json'), join(dir, 'generation_config.json'));
    execFileSync('mkfifo', [join(dir, 'tokenizer_config.json')]);
    const r = await scan(dir);
    expectFinding(r, 'FILE_SKIPPED', 'config.json');
    expectFinding(r, 'FILE_SKIPPED', 'tokenizer_config.json');
    assert.ok(!r.findings.some((f) => f.files.includes('generation_config.json') && f.code === 'FILE_SKIPPED'));
    assert.ok(!JSON.stringify(r).includes('"outside"'), 'the linked file was not read');
  });
});

test('an index naming ../../x or https://evil/x is FILE_MALFORMED and only the configured Hub is asked', async () => {
  const dir = release('evil-index', {
    'model.safetensors.index.json': JSON.stringify({
      weight_map: { a: '../../other/x.safetensors', b: 'https://evil.example/x.safetensors', c: '/etc/passwd' },
    }),
  });
  const mirror = await startHubMirror({ root: join(root, 'mirror') });
  try {
    await mirror.publish('acme/evil-index', dir);
    const urls: string[] = [];
    const spy: typeof fetch = (input, init) => {
      urls.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      return fetch(input, init);
    };
    const info = await (await fetch(`${mirror.url}/api/models/acme/evil-index`)).json();
    const source = new HubSource({ hubUrl: mirror.url, fetch: spy }, 'acme/evil-index', info.sha);
    const snap = await buildSnapshot(source, { repo: 'acme/evil-index', sha: info.sha }, { maxFileBytes: 1 << 20 });
    assert.equal(snap.safetensors?.errors.filter((e) => /not a path inside the repo/.test(e)).length, 3);
    assert.ok(urls.length > 0);
    for (const u of urls) {
      assert.ok(u.startsWith(`${mirror.url}/`), u);
      assert.ok(!/evil\.example|other\/x|etc\/passwd/.test(u), u);
    }
  } finally {
    await mirror.close();
  }
});
