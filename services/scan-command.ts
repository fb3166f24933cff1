import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config.ts';
import type { Config } from '../lib/config.ts';
import { hubOptions } from '../lib/hub-client.ts';
import type { HubOptions } from '../lib/hub-client.ts';
import { createRangeFetch } from '../lib/range-fetch.ts';
import { openTarget, parseTarget, scanSnapshot, UsageError } from '../lib/scan.ts';
import type { ScanReport } from '../lib/scan.ts';
import { BACKEND_CHOICES } from '../lib/compute/compute-lender.ts';
import type { BackendChoice } from '../lib/compute/compute-lender.ts';
import { cliTensorOpener } from './tensor-env.ts';

function render(r: ScanReport): string {
  const lines = [`${r.repo}@${r.sha}: ${r.verdict.toUpperCase()}`, ''];
  const w = Math.max(...r.checks.map((c) => c.check.length));
  for (const c of r.checks)
    lines.push(
      `  ${c.check.padEnd(w)}  ${c.status.padEnd(8)} ${c.reason ?? c.error ?? (c.findings ? `${c.findings} finding(s)` : '')}`,
    );
  if (r.findings.length) lines.push('', 'findings:');
  for (const f of r.findings) {
    lines.push(
      `  [${f.severity}] ${f.code} — ${f.title}`,
      `      ${f.detail}`,
      `      files: ${f.files.join(', ') || '—'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `hubwatch scan`: exit 0 without critical findings, 1 with, 2 on usage or I/O errors. */
export async function runScanCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        base: { type: 'string' },
        previous: { type: 'string' },
        'hub-url': { type: 'string' },
        'no-weights': { type: 'boolean' },
        backend: { type: 'string' },
      },
    });
    if (parsed.positionals.length !== 1)
      throw new UsageError('scan takes exactly one target: a folder or org/name[@rev]');
    const b = parsed.values.backend;
    if (b !== undefined && !(BACKEND_CHOICES as readonly string[]).includes(b))
      throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got ${b}`);
  } catch (e) {
    process.stderr.write(
      `hubwatch scan: ${(e as Error).message}\nusage: hubwatch scan <dir | org/name[@rev]> [--json] [--base …] [--previous …] [--hub-url URL] [--no-weights] [--backend cpu|torch|auto]\n`,
    );
    return 2;
  }
  const { values, positionals } = parsed;
  let cfg: Config;
  try {
    cfg = loadConfig();
  } catch (e) {
    process.stderr.write(`hubwatch scan: ${(e as Error).message}\n`);
    return 2;
  }
  // Weight ranges go through a keep-alive range fetch (plain HTTP; HTTPS falls back to the global fetch).
  const rangeFetch = createRangeFetch();
  const hub: HubOptions = hubOptions(
    { ...cfg, hubUrl: (values['hub-url'] ?? cfg.hubUrl).replace(/\/+$/, '') },
    rangeFetch,
  );
  const progress = (m: string): void => void process.stderr.write(`hubwatch: ${m}\n`);
  let tensors: ReturnType<typeof cliTensorOpener> | null = null;
  try {
    progress(`reading ${positionals[0]}`);
    const opened = await openTarget(parseTarget(positionals[0]), hub, cfg.maxFileBytes);
    const previous = values.previous
      ? (await openTarget(parseTarget(values.previous), hub, cfg.maxFileBytes)).snapshot
      : null;
    const baseTarget = values.base ? await openTarget(parseTarget(values.base), hub, cfg.maxFileBytes) : null;
    tensors = values['no-weights']
      ? null
      : cliTensorOpener((values.backend as BackendChoice | undefined) ?? cfg.computeBackend, cfg);
    const report = await scanSnapshot(opened, {
      previous,
      base: baseTarget?.snapshot ?? null,
      baseTarget,
      openTensors: tensors,
      onProgress: progress,
    });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : render(report));
    return report.verdict === 'critical' ? 1 : 0;
  } catch (e) {
    process.stderr.write(`hubwatch scan: ${(e as Error).message}\n`);
    return 2;
  } finally {
    await tensors?.close();
    rangeFetch.close();
  }
}
