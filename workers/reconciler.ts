import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { reconcile } from '../lib/pipeline/reconcile.ts';

/**
 * Runs the reconciler now and then every `everyMs`, one pass at a time. close() stops the timer and waits for
 * the pass in progress, so the pool it uses is not ended under it.
 */
export function startReconciler(deps: PipelineDeps, everyMs = 30_000): { close(): Promise<void> } {
  let running: Promise<void> | null = null;
  const tick = (): void => {
    if (running) return;
    running = reconcile(deps)
      .then(
        () => undefined,
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
