/**
 * The torch compute backend: a long-lived Python worker (runners/torch, `python -m hubwatch_torch`) driven over
 * stdin/stdout with length-prefixed JSON headers and raw tensor bytes (runners/torch/PROTOCOL.md). The worker uses
 * CUDA when torch sees a GPU, else the CPU. Replies come in request order; each request waits for its own.
 * Start with {@link TorchBackend.start}; close() ends the worker (tests and shutdown must call it).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChunkJob, ChunkStats, ComputeBackend, DeltaSession, DeltaSpec, DeltaStats } from './backend.ts';
import { foldRowHash } from './backend.ts';
import type { Reply } from './torch-protocol.ts';
import { FrameReader, encodeRequest, replyArrays } from './torch-protocol.ts';
import { INSTALL_HINT, TorchUnavailableError, pythonCandidates } from './torch-python.ts';

/** runners/torch, where the hubwatch_torch package lives. */
export const RUNNER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'runners', 'torch');
const START_TIMEOUT_MS = 120_000;

type Waiter = { resolve: (r: { reply: Reply; payload: Buffer }) => void; reject: (e: Error) => void };

export interface TorchStartOptions {
  /** HUBWATCH_PYTHON; when absent the first python3 that imports torch. */
  python?: string;
}

export class TorchBackend implements ComputeBackend {
  readonly name = 'torch';
  device = 'unknown';
  torchVersion = '';
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private nextSession = 1;
  private failure: Error | null = null;
  private stderrTail = '';
  private closed = false;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly python: string,
  ) {
    const reader = new FrameReader((reply, payload) => {
      const w = this.waiters.get(reply.id);
      this.waiters.delete(reply.id);
      if (!w) return;
      if (reply.ok) w.resolve({ reply, payload });
      else w.reject(new Error(`torch worker: ${reply.error ?? 'failed'}`));
    });
    child.stdout.on('data', (d: Buffer) => reader.push(d));
    child.stderr.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-4000);
    });
    child.stdin.on('error', () => {});
    this.exited = new Promise((resolve) => {
      child.on('error', (e) => {
        this.fail(new TorchUnavailableError(`${python} cannot be run (${e.message})`));
        resolve();
      });
      child.on('exit', (code, signal) => {
        const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
        if (this.closed) return resolve();
        // Exit code 3: the worker could not import torch (runners/torch/hubwatch_torch/__main__.py).
        if (code === 3) this.fail(new TorchUnavailableError(`${python} cannot import torch`));
        else this.fail(new Error(`torch worker (${python}) exited (${code ?? signal})${tail ? `: ${tail}` : ''}`));
        resolve();
      });
    });
  }

  /**
   * Starts the worker under `opts.python`, or else under each python3 candidate in turn (torch-python.ts) until one
   * imports torch, and waits for its hello. Throws TorchUnavailableError (naming what to install) when none can, and
   * an Error when a worker that imported torch does not answer.
   */
  static async start(opts: TorchStartOptions = {}): Promise<TorchBackend> {
    const candidates = opts.python ? [opts.python] : pythonCandidates();
    const problems: string[] = [];
    for (const python of candidates) {
      try {
        return await TorchBackend.startWith(python);
      } catch (e) {
        if (!(e instanceof TorchUnavailableError)) throw e;
        problems.push(e.message);
      }
    }
    const what = opts.python ? 'HUBWATCH_PYTHON' : 'no python3 on the PATH or /usr/bin/python3';
    throw new TorchUnavailableError(`torch backend: ${what} can run it (${problems.join('; ')}); ${INSTALL_HINT}`);
  }

  private static async startWith(python: string): Promise<TorchBackend> {
    const child = spawn(python, ['-B', '-u', '-m', 'hubwatch_torch'], {
      cwd: RUNNER_DIR,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const backend = new TorchBackend(child, python);
    try {
      const hello = await Promise.race([
        backend.request({ op: 'hello' }),
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`torch worker (${python}) did not answer in time`)),
            START_TIMEOUT_MS,
          ).unref(),
        ),
      ]);
      backend.device = String(hello.reply.device);
      backend.torchVersion = String(hello.reply.torch);
      return backend;
    } catch (e) {
      await backend.close();
      throw e;
    }
  }

  /** The worker's process id (for measuring its memory). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiters.values()) w.reject(this.failure);
    this.waiters.clear();
  }

  private request(header: Record<string, unknown>, parts: Uint8Array[] = []) {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('compute backend is closed'));
    const id = this.nextId++;
    const p = new Promise<{ reply: Reply; payload: Buffer }>((resolve, reject) =>
      this.waiters.set(id, { resolve, reject }),
    );
    for (const chunk of encodeRequest({ ...header, id }, parts)) this.child.stdin.write(chunk);
    return p;
  }

  /** Per-row statistics computed by torch; the same numbers as the CPU kernels (sums up to rounding order). */
  async rowStats(job: ChunkJob): Promise<ChunkStats> {
    const { reply, payload } = await this.request(
      { op: 'row_stats', dtype: job.dtype, rows: job.rows, cols: job.cols },
      [job.data],
    );
    const a = replyArrays(reply, payload);
    const words = a.words as Int32Array;
    const hash = new Uint32Array(job.rows * 2);
    for (let r = 0; r < job.rows; r++) foldRowHash(words, r * 16, hash, r);
    const nan = a.nan as Int32Array;
    const inf = a.inf as Int32Array;
    const nonFinite = [];
    for (let r = 0; r < job.rows; r++) if (nan[r] || inf[r]) nonFinite.push({ row: r, nan: nan[r], inf: inf[r] });
    return {
      rows: job.rows,
      max: a.max as Float32Array,
      absMax: a.absMax as Float32Array,
      sum: a.sum as Float64Array,
      sumSq: a.sumSq as Float64Array,
      hash,
      nonFinite,
      input: job.data,
    };
  }

  /** A comparison whose ΔW lives in the worker (on the GPU when there is one); chunks are sent as they come. */
  openDelta(spec: DeltaSpec): DeltaSession {
    const session = this.nextSession++;
    const opened = this.request({
      op: 'delta_open',
      session,
      rows: spec.rows,
      cols: spec.cols,
      releaseDtype: spec.releaseDtype,
      baseDtype: spec.baseDtype,
    });
    opened.catch(() => {});
    return {
      add: async (firstRow, rows, release, base) => {
        await this.request({ op: 'delta_add', session, firstRow, rows, releaseBytes: release.byteLength }, [
          release,
          base,
        ]);
      },
      finish: async () => {
        await opened;
        const { reply } = await this.request({
          op: 'delta_finish',
          session,
          q: spec.q,
          niter: spec.niter,
          seed: spec.seed,
        });
        const r = reply as unknown as DeltaStats;
        return {
          identical: r.identical,
          sumSqDelta: r.sumSqDelta,
          sumSqBase: r.sumSqBase,
          sumSqRelease: r.sumSqRelease,
          dot: r.dot,
          nonFinite: r.nonFinite,
          singularValues: r.singularValues,
        };
      },
      abort: () => {
        this.request({ op: 'delta_abort', session }).catch(() => {});
      },
    };
  }

  /** Asks the worker to exit, then kills it if it has not within 5 s; pending requests are rejected. */
  async close(): Promise<void> {
    if (this.closed) return this.exited;
    if (!this.failure && this.child.exitCode === null) {
      const bye = this.request({ op: 'shutdown' }).catch(() => {});
      this.closed = true;
      this.child.stdin.end();
      await Promise.race([bye, new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    this.closed = true;
    this.fail(new Error('compute backend closed'));
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
    clearTimeout(kill);
  }
}
