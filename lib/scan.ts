import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { ALL_CHECKS } from '../checks/index.ts';
import { runCheck, verdictOf } from '../checks/run-check.ts';
import type { CheckContext, CheckRunResult, Finding, Snapshot, Verdict } from '../checks/types.ts';
import type { ByteSource } from './byte-source.ts';
import { checkServices } from './check-services.ts';
import type { HubOptions } from './hub-client.ts';
import { HubSource, resolveRevision } from './hub-client.ts';
import { LocalFolderSource } from './local-source.ts';
import { createReleaseFiles } from './release-files.ts';
import { parseRepoRef } from './repo-id.ts';
import { buildSnapshot } from './snapshot-builder.ts';

export type ScanTarget = { kind: 'dir'; path: string } | { kind: 'hub'; repo: string; revision: string };

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A path as a user means it: `~` and `~/…` are the home folder. */
const expandHome = (arg: string): string => (arg === '~' || arg.startsWith('~/') ? join(homedir(), arg.slice(1)) : arg);

/**
 * A local folder when the argument exists or looks like a path (starts with ./, ../, / or ~: never tried as a Hub
 * repo); otherwise `org/name[@rev]` on the Hub. Throws UsageError for a missing, non-folder or empty path.
 */
export function parseTarget(arg: string): ScanTarget {
  const path = expandHome(arg);
  if (existsSync(path) || /^(\.{1,2}(\/|$)|\/|~)/.test(arg)) {
    if (!existsSync(path)) throw new UsageError(`no such folder: ${arg}`);
    if (!statSync(path).isDirectory()) throw new UsageError(`${arg} is not a folder`);
    if (readdirSync(path).length === 0) throw new UsageError(`${arg} is empty: there is no model to scan`);
    return { kind: 'dir', path: resolve(path) };
  }
  const ref = parseRepoRef(arg);
  if (!ref) throw new UsageError(`${arg} is neither a folder nor a Hub repo (org/name[@revision])`);
  return { kind: 'hub', repo: ref.repo, revision: ref.revision ?? 'main' };
}

export interface OpenedTarget {
  source: ByteSource;
  snapshot: Snapshot;
}

/** Opens a target and builds its snapshot (the same code the release worker uses). */
export async function openTarget(t: ScanTarget, hub: HubOptions, maxFileBytes: number): Promise<OpenedTarget> {
  if (t.kind === 'dir') {
    const source = new LocalFolderSource(t.path);
    const snapshot = await buildSnapshot(
      source,
      { repo: `local/${basename(t.path)}`, sha: 'local', origin: 'local' },
      { maxFileBytes },
    );
    // Only links out of the folder or special files: nothing of a model to scan, which must not read as "ok".
    if (snapshot.files.length === 0) throw new UsageError(`${t.path} has no files to scan`);
    return { source, snapshot };
  }
  const rev = await resolveRevision(hub, t.repo, t.revision);
  const source = new HubSource(hub, t.repo, rev.sha);
  return {
    source,
    snapshot: await buildSnapshot(source, { repo: t.repo, sha: rev.sha, cardData: rev.cardData }, { maxFileBytes }),
  };
}

export interface CheckSummary {
  check: string;
  title: string;
  queue: 'checks' | 'tensor';
  status: CheckRunResult['status'];
  reason?: string;
  error?: string;
  durationMs: number;
  findings: number;
  /** What a check that passed measured (e.g. the base-model fingerprint of an ordinary fine-tune). */
  evidence?: Record<string, unknown>;
}

export interface ScanReport {
  repo: string;
  sha: string;
  verdict: Verdict;
  checks: CheckSummary[];
  findings: Finding[];
}

export interface TensorOpener {
  (
    source: ByteSource,
    snapshot: Snapshot,
    base?: OpenedTarget | null,
  ): Promise<{
    provider: NonNullable<CheckContext['tensors']>;
    baseTensors?: CheckContext['baseTensors'];
    close(): Promise<void>;
  }>;
}

/**
 * Runs every check of the catalog over a snapshot, with no database or queue. Weight checks run when a tensor
 * opener is given (the CLI without --no-weights); otherwise they are reported as skipped.
 */
export async function scanSnapshot(
  opened: OpenedTarget,
  opts: {
    previous?: Snapshot | null;
    base?: Snapshot | null;
    /** The base's files too (--base): the base-model fingerprint reads its weights. */
    baseTarget?: OpenedTarget | null;
    openTensors?: TensorOpener | null;
    onProgress?: (msg: string) => void;
  },
): Promise<ScanReport> {
  const results: CheckRunResult[] = [];
  const tensors = opts.openTensors
    ? await opts.openTensors(opened.source, opened.snapshot, opts.baseTarget ?? null)
    : null;
  const services = checkServices();
  try {
    for (const check of ALL_CHECKS) {
      opts.onProgress?.(`running ${check.id}`);
      if (check.queue === 'tensor' && !tensors) {
        results.push({
          check: check.id,
          status: 'skipped',
          reason: 'weights not read (--no-weights)',
          findings: [],
          durationMs: 0,
        });
        continue;
      }
      const ctx: CheckContext = {
        ...services,
        release: opened.snapshot,
        previous: opts.previous ?? null,
        base: opts.base ?? null,
        family: null,
        tensors: tensors?.provider ?? null,
        files: createReleaseFiles(opened.source),
        baseTensors: tensors?.baseTensors ?? null,
      };
      results.push(await runCheck(check, ctx));
    }
  } finally {
    await tensors?.close();
  }
  return {
    repo: opened.snapshot.repo,
    sha: opened.snapshot.sha,
    verdict: verdictOf(results),
    checks: results.map((r) => {
      const c = ALL_CHECKS.find((x) => x.id === r.check)!;
      return {
        check: r.check,
        title: c.title,
        queue: c.queue,
        status: r.status,
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.error ? { error: r.error } : {}),
        durationMs: r.durationMs,
        findings: r.findings.length,
        ...(r.evidence ? { evidence: r.evidence } : {}),
      };
    }),
    findings: results.flatMap((r) => r.findings),
  };
}
