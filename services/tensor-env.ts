import type { Snapshot } from '../checks/types.ts';
import type { ByteSource } from '../lib/byte-source.ts';
import { computeLender } from '../lib/compute/compute-lender.ts';
import type { BackendChoice, ComputeLender } from '../lib/compute/compute-lender.ts';
import { createBaseTensorProvider } from '../lib/compute/delta-provider.ts';
import type { DeltaProviderOptions } from '../lib/compute/delta-provider.ts';
import type { Config } from '../lib/config.ts';
import { HubSource, hubOptions } from '../lib/hub-client.ts';
import type { CheckEnv } from '../lib/pipeline/deps.ts';
import { createRangeFetch } from '../lib/range-fetch.ts';
import type { TensorOpener } from '../lib/scan.ts';
import { createTensorStatsProvider } from '../lib/tensor-stats.ts';

/** The row-statistics provider and, when a base is given, the base tensor provider, on one leased backend. */
async function openOn(
  compute: ComputeLender,
  release: { source: ByteSource; snapshot: Snapshot },
  base: { source: ByteSource; snapshot: Snapshot } | null,
  delta: DeltaProviderOptions,
) {
  const backend = await compute.lease();
  const provider = createTensorStatsProvider(release.source, release.snapshot, { backend });
  const baseTensors = base ? createBaseTensorProvider(release, base, backend, delta) : null;
  return { provider, baseTensors, close: () => provider.close() };
}

/**
 * The runner's tensor access for the release being checked (and its declared base): the same streaming code as
 * the CLI, over ranged reads of the commits on the Hub, through one keep-alive range fetch per process, on the
 * configured compute backend (HUBWATCH_COMPUTE_BACKEND). CPU worker threads are closed after each check; the
 * torch worker and the fetch's sockets when the process stops.
 */
export function tensorEnv(cfg: Config): CheckEnv {
  const rangeFetch = createRangeFetch();
  const compute = computeLender({ choice: cfg.computeBackend, python: cfg.python });
  const delta = { sampleBytes: cfg.fingerprintSampleBytes, layers: cfg.fingerprintLayers };
  const hub = (s: { repo: string; sha: string }) => new HubSource(hubOptions(cfg, rangeFetch), s.repo, s.sha);
  return {
    openTensors: (release, snapshot, base) =>
      openOn(compute, { source: hub(release), snapshot }, base ? { source: hub(base), snapshot: base } : null, delta),
    close: async () => {
      try {
        await compute.close();
      } finally {
        rangeFetch.close();
      }
    },
  };
}

/**
 * The CLI's tensor access: the same readers over the scan's byte sources (a local file read directly, or Hub
 * ranges), on the backend chosen by --backend. Call close() when the scan ends: it stops the torch worker.
 */
export function cliTensorOpener(choice: BackendChoice, cfg: Config): TensorOpener & { close(): Promise<void> } {
  const compute = computeLender({ choice, python: cfg.python });
  const delta = { sampleBytes: cfg.fingerprintSampleBytes, layers: cfg.fingerprintLayers };
  const open: TensorOpener = (source, snapshot, base) => openOn(compute, { source, snapshot }, base ?? null, delta);
  return Object.assign(open, { close: () => compute.close() });
}
