/**
 * Chooses the compute backend a process uses (HUBWATCH_COMPUTE_BACKEND, the CLI's --backend) and lends it to one
 * check at a time. The torch worker is started once per process and kept (its start costs a torch import, seconds);
 * a CPU backend is made per lease and closed with it. `torch` that cannot start is an error naming what to install,
 * never a silent fallback; `auto` takes torch on a host with an NVIDIA GPU and the CPU backend elsewhere.
 */
import { existsSync } from 'node:fs';
import type { ComputeBackend } from './backend.ts';
import { CpuBackend } from './cpu-backend.ts';
import { TorchBackend } from './torch-backend.ts';

export type BackendChoice = 'cpu' | 'torch' | 'auto';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['cpu', 'torch', 'auto'];

export interface ComputeLender {
  /** A backend for one check; closing it frees what that check used (the shared torch worker stays). */
  lease(): Promise<ComputeBackend>;
  /** The backend actually chosen (`auto` resolved), once the first lease has been made. */
  readonly chosen: 'cpu' | 'torch' | null;
  /** Ends the torch worker, if one was started. */
  close(): Promise<void>;
}

/** Whether this host has an NVIDIA GPU driver loaded (what `auto` keys on, without importing torch). */
export function hasNvidiaGpu(): boolean {
  return existsSync('/proc/driver/nvidia/version') || existsSync('/dev/nvidia0');
}

/** The shared backend seen through a lease: close() does not end it. */
function borrowed(b: ComputeBackend): ComputeBackend {
  return {
    name: b.name,
    get device() {
      return b.device;
    },
    rowStats: (job) => b.rowStats(job),
    openDelta: (spec) => b.openDelta(spec),
    close: async () => {},
  };
}

export interface LenderOptions {
  choice: BackendChoice;
  /** HUBWATCH_PYTHON. */
  python?: string;
  /** CPU worker threads (default: one per core, at most 8). */
  threads?: number;
  /** Told when `auto` found a GPU but could not start torch and uses the CPU. */
  onNotice?: (message: string) => void;
}

/** Creates the lender; nothing starts until the first lease. */
export function computeLender(opts: LenderOptions): ComputeLender {
  let torch: Promise<TorchBackend> | null = null;
  let chosen: 'cpu' | 'torch' | null = opts.choice === 'auto' ? null : opts.choice;
  const startTorch = (): Promise<TorchBackend> => {
    torch ??= TorchBackend.start({ python: opts.python });
    // A failed start is not cached: the next lease tries again (and reports again).
    torch.catch(() => (torch = null));
    return torch;
  };
  return {
    get chosen() {
      return chosen;
    },
    async lease() {
      if (chosen === null) {
        if (hasNvidiaGpu()) {
          try {
            await startTorch();
            chosen = 'torch';
          } catch (e) {
            opts.onNotice?.(`auto: a GPU is present but the torch backend did not start (${(e as Error).message})`);
            chosen = 'cpu';
          }
        } else chosen = 'cpu';
      }
      if (chosen === 'cpu') return new CpuBackend(opts.threads);
      return borrowed(await startTorch());
    },
    async close() {
      const t = torch;
      torch = null;
      if (t) await t.then((b) => b.close()).catch(() => {});
    },
  };
}
