/**
 * Hostile and broken releases, each scanned in a child process by the CLI's scan code: every case gives its
 * finding within 10 s of scanning and 500 MB of peak resident memory, measured by the child itself.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
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
 * Scans a folder in a child process running the CLI's scan code (test/hostile-child.ts); resolves with the report,
 * the scan's wall time (module loading excluded: seconds under tsx on a loaded machine, the same for any release)
 * and the child's peak resident memory.
 */
function scan(dir: string): Promise<Scan> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'hostile-child.ts'), dir],
      { maxBuffer: 64 << 20, env: { ...process.env, HUBWATCH_LOG_LEVEL: 'silent' } },
      (_err, stdout, stderr) => {
        try {
          const r = JSON.parse(stdout) as { report: Omit<Scan, 'wallS' | 'rssMb'>; scanMs: number; maxRssKb: number };
          resolve({ ...r.report, wallS: r.scanMs / 1000, rssMb: r.maxRssKb / 1024 });
        } catch {
          reject(new Error(`no report for ${dir}: ${stderr.slice(-2000)}`));
        }
      },
    );
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

  test('a chat template that renders nothing is CHAT_TEMPLATE_ERROR; one that renders is not', async () => {
    const cfg = (t: string) => JSON.stringify({ chat_template: t, bos_token: '<s>', eos_token: '</s>' });
    const r = await scan(
      release('empty-template', { 'tokenizer_config.json': cfg('{% for m in messages %}{% endfor %}') }),
    );
    expectFinding(r, 'CHAT_TEMPLATE_ERROR', 'tokenizer_config.json');
    assert.match(r.findings.find((f) => f.code === 'CHAT_TEMPLATE_ERROR')!.title, /renders nothing/);
    const ok = await scan(
      release('echo-template', { 'tokenizer_config.json': cfg('{% for m in messages %}{{ m.content }}{% endfor %}') }),
    );
    assert.ok(!ok.findings.some((f) => /renders nothing/.test(f.title)));
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
