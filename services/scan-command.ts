import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config.ts';
import type { Config } from '../lib/config.ts';
import { hubOptions, resolveShaPrefix } from '../lib/hub-client.ts';
import type { HubOptions } from '../lib/hub-client.ts';
import { createRangeFetch } from '../lib/range-fetch.ts';
import { existsSync } from 'node:fs';
import { ALL_CHECKS } from '../checks/index.ts';
import { openTarget, parseTarget, scanSnapshot, UsageError } from '../lib/scan.ts';
import type { ScanTarget } from '../lib/scan.ts';
import { renderReport, wantsColor } from './scan-report.ts';
import { countingSource, scanProgress } from './scan-progress.ts';
import { BACKEND_CHOICES } from '../lib/compute/compute-lender.ts';
import type { BackendChoice } from '../lib/compute/compute-lender.ts';
import { cliTensorOpener } from './tensor-env.ts';

export const SCAN_USAGE = `usage: hubwatch scan <dir | org/name[@rev]> [options]

Checks a local model folder or a Hub revision; no database or queue needed. A target that exists, or starts with
./ ../ / or ~, is a folder (never a Hub repo).

options:
  --json                 the report as JSON on stdout (progress, if any, on stderr)
  -v, --verbose          also list every check with its status
  --previous <target>    compare with an earlier revision: a folder, org/name@rev, or a revision of the same repo
                         (@rev, or a commit sha: full, or at least 7 hex digits of one on main)
  --base <target>        the declared base model (a folder or org/name[@rev])
  --hub-url <url>        another Hub (a mirror); HF_TOKEN and the login token go to huggingface.co only
  --no-weights           skip the checks that read weights
  --backend <choice>     compute backend for weight checks: ${BACKEND_CHOICES.join(', ')}
  -h, --help             this help

Colour on a TTY; NO_COLOR turns it off, FORCE_COLOR=1 forces it. Lines wrap to the terminal (COLUMNS when piped).
Hub token: HUBWATCH_HF_TOKEN, HF_TOKEN, or the file huggingface-cli login writes ($HF_HOME/token).
Exit codes: 0 no critical finding, 1 critical findings, 2 usage or I/O error.`;

/** `--previous abc1234` or `--previous @v1`: that revision of the scanned Hub repo. */
function previousTarget(arg: string, target: ScanTarget): ScanTarget {
  const rev = /^@(.+)$/.exec(arg)?.[1] ?? (/^[0-9a-f]{7,40}$/.test(arg) && !existsSync(arg) ? arg : null);
  if (rev === null) return parseTarget(arg);
  if (target.kind !== 'hub') throw new UsageError(`--previous ${arg} names a revision, but the target is a folder`);
  return { kind: 'hub', repo: target.repo, revision: rev };
}

/** A short sha (7 to 39 hex digits) as a Hub revision: the Hub resolves only full shas, so the CLI finds the commit. */
const SHORT_SHA = /^[0-9a-f]{7,39}$/i;

/** The target with a short-sha revision replaced by the full sha of the one commit it starts with. */
async function withFullSha(t: ScanTarget, hub: HubOptions): Promise<ScanTarget> {
  if (t.kind !== 'hub' || !SHORT_SHA.test(t.revision)) return t;
  return { ...t, revision: await resolveShaPrefix(hub, t.repo, t.revision) };
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
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
        base: { type: 'string' },
        previous: { type: 'string' },
        'hub-url': { type: 'string' },
        'no-weights': { type: 'boolean' },
        backend: { type: 'string' },
      },
    });
    if (parsed.values.help) {
      process.stdout.write(`${SCAN_USAGE}\n`);
      return 0;
    }
    if (parsed.positionals.length !== 1)
      throw new UsageError('scan takes exactly one target: a folder or org/name[@rev]');
    const b = parsed.values.backend;
    if (b !== undefined && !(BACKEND_CHOICES as readonly string[]).includes(b))
      throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got ${b}`);
  } catch (e) {
    process.stderr.write(`hubwatch scan: ${(e as Error).message}\n(hubwatch scan --help for the options)\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  let cfg: Config;
  try {
    cfg = loadConfig(undefined, { hubUrl: values['hub-url'] });
  } catch (e) {
    process.stderr.write(`hubwatch scan: ${(e as Error).message}\n`);
    return 2;
  }
  // Weight ranges go through the keep-alive undici range fetch (http and https, redirects to the CDN followed).
  const rangeFetch = createRangeFetch();
  const hub: HubOptions = hubOptions(cfg, rangeFetch);
  const started = Date.now();
  const progress = scanProgress(process.stderr, ALL_CHECKS.length);
  let tensors: ReturnType<typeof cliTensorOpener> | null = null;
  try {
    progress.step(`reading ${positionals[0]}`);
    const target = await withFullSha(parseTarget(positionals[0]), hub);
    const previousAt = values.previous ? await withFullSha(previousTarget(values.previous, target), hub) : null;
    const opened = await openTarget(target, hub, cfg.maxFileBytes);
    const previous = previousAt ? (await openTarget(previousAt, hub, cfg.maxFileBytes)).snapshot : null;
    const baseTarget = values.base ? await openTarget(parseTarget(values.base), hub, cfg.maxFileBytes) : null;
    tensors = values['no-weights']
      ? null
      : cliTensorOpener((values.backend as BackendChoice | undefined) ?? cfg.computeBackend, cfg);
    const report = await scanSnapshot(
      { ...opened, source: countingSource(opened.source, progress.bytes) },
      {
        previous,
        base: baseTarget?.snapshot ?? null,
        baseTarget,
        openTensors: tensors,
        onProgress: progress.step,
      },
    );
    progress.done();
    const tty = process.stdout.isTTY === true;
    const human = (): string =>
      renderReport(report, {
        color: wantsColor(cfg.color, tty),
        width: (tty && process.stdout.columns) || cfg.columns,
        verbose: values.verbose ?? false,
        elapsedMs: Date.now() - started,
      });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : human());
    return report.verdict === 'critical' ? 1 : 0;
  } catch (e) {
    progress.done();
    process.stderr.write(`hubwatch scan: ${(e as Error).message}\n`);
    return 2;
  } finally {
    await tensors?.close();
    rangeFetch.close();
  }
}
