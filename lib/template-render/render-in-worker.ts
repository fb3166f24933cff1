/**
 * Renders a chat template in a worker thread under a time limit. Pure JavaScript on the main thread cannot be
 * interrupted, and a template can loop for hours (`range()` inside `range()`) or allocate without bound; a worker
 * can be terminated. One short-lived worker per template: a crashed or stopped render leaves nothing behind.
 */
import { Worker } from 'node:worker_threads';
import type { TemplateRun } from '../../checks/types.ts';
import type { RenderJob, RenderWorkerData, WorkerMessage } from './worker.ts';

/** How long one stage (parsing, or one context's render) may take. Renders take well under 10 ms. */
export const TEMPLATE_TIME_LIMIT_MS = 1000;
/** How long a worker may take to start and load the template engine on a busy machine. */
const BOOT_LIMIT_MS = 20_000;
/** Larger outputs are refused: a canned conversation renders to a few kB. */
const MAX_OUTPUT_CHARS = 1 << 20;
/** Heap of the render worker; a template that allocates more is stopped. */
const HEAP_LIMIT_MB = 256;

const BOOT = new URL('./boot.mjs', import.meta.url);
const ENTRY = new URL('./worker.ts', import.meta.url).href;

/**
 * Parses `template` and renders each context with it, each stage under `limitMs`; the worker is terminated when a
 * stage runs out of time, dies (e.g. out of memory) or when all is done. Rejects only when the worker itself
 * cannot start.
 */
export function renderInWorker(
  template: string,
  contexts: RenderJob['contexts'],
  limitMs = TEMPLATE_TIME_LIMIT_MS,
): Promise<TemplateRun> {
  const run: TemplateRun = { parseError: null, results: new Map(), limitMs };
  const workerData: RenderWorkerData = { entry: ENTRY, maxOutput: MAX_OUTPUT_CHARS };
  const worker = new Worker(BOOT, { workerData, resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MB } });
  worker.unref();
  return new Promise<TemplateRun>((resolve, reject) => {
    let booted = false;
    let stage = 0; // 0: parsing; i > 0: rendering contexts[i - 1]
    let timer: ReturnType<typeof setTimeout> | undefined;
    let finished = false;
    const finish = (err?: Error): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      void worker.terminate();
      if (err) reject(err);
      else resolve(run);
    };
    const fail = (message: string, timedOut: boolean): void => {
      if (!booted) return finish(new Error(`template worker did not start: ${message}`));
      if (stage === 0) run.parseError = { message, timedOut };
      else if (stage <= contexts.length) run.results.set(contexts[stage - 1].name, { ok: false, message, timedOut });
      finish();
    };
    const arm = (ms: number): void => {
      clearTimeout(timer);
      const why = booted ? `did not finish within ${ms} ms (the template may never end)` : `no answer within ${ms} ms`;
      timer = setTimeout(() => fail(why, true), ms);
    };
    arm(BOOT_LIMIT_MS);
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'ready') {
        booted = true;
        arm(limitMs);
        worker.postMessage({ template, contexts } satisfies RenderJob);
      } else if (m.kind === 'parse-error') {
        run.parseError = { message: m.message };
        finish();
      } else if (m.kind === 'parsed' || m.kind === 'result') {
        if (m.kind === 'result')
          run.results.set(m.name, m.ok ? { ok: true, text: m.text } : { ok: false, message: m.message });
        stage++;
        arm(limitMs);
      } else if (m.kind === 'done') finish();
    });
    worker.on('error', (e) => fail(e.message, false));
    worker.on('exit', (code) =>
      fail(
        `the template worker died (exit code ${code}); running out of its ${HEAP_LIMIT_MB} MB heap is the usual cause`,
        false,
      ),
    );
  });
}
