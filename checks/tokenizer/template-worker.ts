/**
 * Renders a chat template in a worker thread under a time limit. Pure JavaScript on the main thread cannot be
 * interrupted, and a template can loop for hours (`range()` inside `range()`) or allocate without bound; a worker
 * can be terminated. The worker's code is plain JavaScript given as a string, so it runs the same under tsx, the
 * CLI and the workers, and it loads @huggingface/jinja by its resolved path.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How long one stage (parsing, or one scenario's render) may take. Renders take well under 10 ms. */
export const TEMPLATE_TIME_LIMIT_MS = 1000;
/** How long a worker may take to start and load the template engine on a busy machine. */
const BOOT_LIMIT_MS = 20_000;
/** Larger outputs are refused: a canned conversation renders to a few kB. */
const MAX_OUTPUT_CHARS = 1 << 20;
/** Heap of the render worker; a template that allocates more is stopped. */
const HEAP_LIMIT_MB = 256;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Template } = require(workerData.jinjaPath);
const message = (e) => (e && typeof e.message === 'string' ? e.message : String(e));
parentPort.on('message', (job) => {
  let t;
  try { t = new Template(job.template); } catch (e) { parentPort.postMessage({ kind: 'parse-error', message: message(e) }); return; }
  parentPort.postMessage({ kind: 'parsed' });
  for (const s of job.scenarios) {
    let out;
    try {
      const text = t.render(s.context);
      out = text.length > workerData.maxOutput
        ? { kind: 'result', name: s.name, ok: false, message: 'rendered ' + text.length + ' characters (limit ' + workerData.maxOutput + ')' }
        : { kind: 'result', name: s.name, ok: true, text };
    } catch (e) { out = { kind: 'result', name: s.name, ok: false, message: message(e) }; }
    parentPort.postMessage(out);
  }
  parentPort.postMessage({ kind: 'done' });
});
parentPort.postMessage({ kind: 'ready' });
`;

export type Rendered = { ok: true; text: string } | { ok: false; message: string; timedOut?: boolean };

export interface TemplateRun {
  /** Set when the template does not parse, or parsing did not end in time. */
  parseError: { message: string; timedOut?: boolean } | null;
  /** One entry per scenario that was attempted; scenarios after a time-out are not attempted. */
  results: Map<string, Rendered>;
}

type WorkerMessage =
  | { kind: 'ready' }
  | { kind: 'parsed' }
  | { kind: 'done' }
  | { kind: 'parse-error'; message: string }
  | { kind: 'result'; name: string; ok: boolean; text?: string; message?: string };

const jinjaPath = createRequire(import.meta.url).resolve('@huggingface/jinja');

/**
 * Parses `template` and renders each scenario's context with it, each stage under `limitMs`; the worker is
 * terminated when a stage runs out of time, dies (e.g. out of memory) or when all is done. Rejects only when the
 * worker itself cannot start.
 */
export function renderInWorker(
  template: string,
  scenarios: { name: string; context: Record<string, unknown> }[],
  limitMs = TEMPLATE_TIME_LIMIT_MS,
): Promise<TemplateRun> {
  const run: TemplateRun = { parseError: null, results: new Map() };
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { jinjaPath, maxOutput: MAX_OUTPUT_CHARS },
    resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MB },
  });
  worker.unref();
  return new Promise<TemplateRun>((resolve, reject) => {
    let booted = false;
    let stage = 0; // 0: parsing; i > 0: rendering scenarios[i - 1]
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
      else if (stage <= scenarios.length) run.results.set(scenarios[stage - 1].name, { ok: false, message, timedOut });
      finish();
    };
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          fail(
            booted ? `did not finish within ${ms} ms (the template may never end)` : `no answer within ${ms} ms`,
            true,
          ),
        ms,
      );
    };
    arm(BOOT_LIMIT_MS);
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'ready') {
        booted = true;
        arm(limitMs);
        worker.postMessage({ template, scenarios });
      } else if (m.kind === 'parse-error') {
        run.parseError = { message: m.message };
        finish();
      } else if (m.kind === 'parsed' || m.kind === 'result') {
        if (m.kind === 'result')
          run.results.set(
            m.name,
            m.ok ? { ok: true, text: m.text ?? '' } : { ok: false, message: m.message ?? 'render failed' },
          );
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
