/** What a mute changes: the verdicts of the finished releases it covers, decided again by the one verdict rule. */
import { verdictOf } from '../checks/run-check.ts';
import { releaseOutcome } from './check-runs.repo.ts';
import type { Pool } from './db.ts';
import { withTransaction } from './db.ts';
import { releasesUnder } from './mutes.repo.ts';
import type { MuteScope } from './mutes.repo.ts';
import { lockRelease, refreshFindingCounts, setReleaseVerdict } from './releases.repo.ts';

/**
 * Recomputes the verdict and the timeline's finding counts of every finished release of a model (or of an org's
 * models) after a mute on it was created or lifted; muted findings do not count. Alerts are not sent for these
 * changes (a mute is a decision someone just made, not news). Returns how many releases changed verdict.
 */
export async function reapplyVerdicts(pool: Pool, scope: MuteScope, target: string): Promise<number> {
  let changed = 0;
  for (const id of await releasesUnder(pool, scope, target)) {
    changed += await withTransaction(pool, async (c) => {
      const release = await lockRelease(c, id);
      if (!release || (release.status !== 'done' && release.status !== 'failed')) return 0;
      // The timeline's counts change with the mute even where the verdict stays (one of two warnings muted), and
      // on a failed release, whose verdict is `error` whatever its findings.
      await refreshFindingCounts(c, id);
      if (release.status !== 'done') return 0;
      const verdict = verdictOf(await releaseOutcome(c, id));
      if (verdict === release.verdict) return 0;
      await setReleaseVerdict(c, id, verdict);
      return 1;
    });
  }
  return changed;
}
