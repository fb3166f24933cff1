/**
 * The template render worker thread: parses one template and renders each context it is sent, posting one
 * message per stage so the parent can time each stage and terminate the thread when one does not end.
 * Started by render-in-worker.ts through boot.mjs; never imported by the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Template } from '@huggingface/jinja';

/** What the parent sends: one template and the contexts to render it with. */
export interface RenderJob {
  template: string;
  contexts: { name: string; context: Record<string, unknown> }[];
}

/** What the worker posts, in order: ready, then parsed or parse-error, then one result per context, then done. */
export type WorkerMessage =
  | { kind: 'ready' }
  | { kind: 'parsed' }
  | { kind: 'done' }
  | { kind: 'parse-error'; message: string }
  | { kind: 'result'; name: string; ok: true; text: string }
  | { kind: 'result'; name: string; ok: false; message: string };

/** Set by the parent: the largest rendered text accepted. */
export interface RenderWorkerData {
  entry: string;
  maxOutput: number;
}

const message = (e: unknown): string =>
  e && typeof (e as Error).message === 'string' ? (e as Error).message : String(e);

function renderAll(port: NonNullable<typeof parentPort>, job: RenderJob, maxOutput: number): void {
  let template: Template;
  try {
    template = new Template(job.template);
  } catch (e) {
    port.postMessage({ kind: 'parse-error', message: message(e) } satisfies WorkerMessage);
    return;
  }
  port.postMessage({ kind: 'parsed' } satisfies WorkerMessage);
  for (const { name, context } of job.contexts) {
    let out: WorkerMessage;
    try {
      const text = template.render(context);
      out =
        text.length > maxOutput
          ? { kind: 'result', name, ok: false, message: `rendered ${text.length} characters (limit ${maxOutput})` }
          : { kind: 'result', name, ok: true, text };
    } catch (e) {
      out = { kind: 'result', name, ok: false, message: message(e) };
    }
    port.postMessage(out);
  }
  port.postMessage({ kind: 'done' } satisfies WorkerMessage);
}

const port = parentPort;
if (port) {
  const { maxOutput } = workerData as RenderWorkerData;
  port.on('message', (job: RenderJob) => renderAll(port, job, maxOutput));
  port.postMessage({ kind: 'ready' } satisfies WorkerMessage);
}
