import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { reconcile } from '../lib/pipeline/reconcile.ts';

/**
 * Runs the reconciler now and then every `everyMs`, one pass at a time. close() stops the timer and waits for
 * the pass in progress, so the pool it uses is not ended under it.
 */
export function startReconciler(
  deps: PipelineDeps,
  everyMs = deps.cfg.reconcileIntervalMs,
): { close(): Promise<void> } {
  let running: Promise<void> | null = null;
  const tick = (): void => {
    if (running) return;
    running = reconcile(deps)
      .then(
        (r) => {
          if (r.releases || r.checkRuns || r.gaveUp || r.finalized) deps.log.info(r, 'reconcile pass');
        },
        (e: Error) => deps.log.warn({ err: e }, 'reconcile failed'),
      )
      .finally(() => (running = null));
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
