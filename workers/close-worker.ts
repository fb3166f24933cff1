import type { Worker } from 'bullmq';

/**
 * Closes a worker gracefully: it takes no new job and its running jobs may finish for `graceMs`; then they are
 * cancelled through their processors' AbortSignal (check jobs go back to waiting for another worker).
 */
export async function closeWorker(w: Worker, graceMs: number): Promise<void> {
  const closing = w.close();
  const timer = setTimeout(() => w.cancelAllJobs('worker closing'), graceMs);
  try {
    await closing;
  } finally {
    clearTimeout(timer);
  }
}
