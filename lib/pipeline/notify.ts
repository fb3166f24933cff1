import { routesTo } from '../alert-routing.ts';
import { claimAlert, markAlert, watchTargets } from '../alerts.repo.ts';
import type { AlertTarget } from '../alerts.repo.ts';
import { listFindings } from '../check-runs.repo.ts';
import { getRelease } from '../releases.repo.ts';
import { postSlack, verdictBlocks } from '../slack.ts';
import type { PipelineDeps } from './deps.ts';

/**
 * Sends Slack alerts for a finished release when the model's verdict changed against the previous checked
 * revision, or the release brings critical findings the previous one did not have. Never twice for the same
 * release, target and verdict (alerts table). Throws SlackRateLimited on 429 so the job is retried later.
 */
export async function notifyRelease(
  deps: PipelineDeps,
  releaseId: number,
  fetchImpl: typeof fetch = fetch,
): Promise<{ sent: number; reason: string }> {
  const release = await getRelease(deps.pool, releaseId);
  if (!release || !release.verdict) return { sent: 0, reason: 'release not finished' };
  const previous = release.previousReleaseId !== null ? await getRelease(deps.pool, release.previousReleaseId) : null;
  // Muted findings are left out of alerts as they are of verdicts.
  const unmuted = async (id: number) => (await listFindings(deps.pool, id)).filter((f) => f.muteId === null);
  const findings = await unmuted(release.id);
  const prevCritical = new Set(
    previous ? (await unmuted(previous.id)).filter((f) => f.severity === 'critical').map((f) => f.code) : [],
  );
  const newCritical = findings.some((f) => f.severity === 'critical' && !prevCritical.has(f.code));
  const transition = (previous?.verdict ?? null) !== release.verdict;
  if (!transition && !newCritical) return { sent: 0, reason: 'no transition' };
  const targets: AlertTarget[] = [
    ...(deps.cfg.slackWebhookUrl ? [{ watchId: null, url: deps.cfg.slackWebhookUrl }] : []),
    ...(await watchTargets(deps.pool, release.repo)),
  ].filter((t) => routesTo(t.rule, release.verdict!, previous?.verdict ?? null));
  const body = verdictBlocks({
    repo: release.repo,
    sha: release.sha,
    verdict: release.verdict,
    previous: previous?.verdict ?? null,
    findings,
    releaseUrl: `${deps.cfg.publicUrl}/models/${release.repo}/releases/${release.sha}`,
    hubUrl: `${deps.cfg.hubUrl}/${release.repo}/commit/${release.sha}`,
  });
  let sent = 0;
  for (const t of targets) {
    const alertId = await claimAlert(deps.pool, release.id, t.watchId, release.verdict);
    if (alertId === null) continue;
    try {
      await postSlack(t.url, body, fetchImpl);
      await markAlert(deps.pool, alertId, 'sent', null);
      sent++;
    } catch (e) {
      await markAlert(deps.pool, alertId, 'failed', (e as Error).message);
      throw e;
    }
  }
  return { sent, reason: targets.length ? 'transition' : 'no targets' };
}
