import type { Config } from '../lib/config.ts';
import { HubSource, hubOptions } from '../lib/hub-client.ts';
import type { CheckEnv } from '../lib/pipeline/deps.ts';
import { createRangeFetch } from '../lib/range-fetch.ts';
import type { TensorOpener } from '../lib/scan.ts';
import { createTensorStatsProvider } from '../lib/tensor-stats.ts';

/**
 * The runner's tensor access for the release being checked: the same streaming statistics code as the CLI,
 * over ranged reads of the release's commit on the Hub, through one keep-alive range fetch per process.
 * Worker threads are closed after each check; the fetch's sockets when the process stops.
 */
export function tensorEnv(cfg: Config): CheckEnv {
  const rangeFetch = createRangeFetch();
  return {
    openTensors: async (release, snapshot) => {
      const source = new HubSource(hubOptions(cfg, rangeFetch), release.repo, release.sha);
      const provider = createTensorStatsProvider(source, snapshot);
      return { provider, close: () => provider.close() };
    },
    close: async () => rangeFetch.close(),
  };
}

/** The CLI's tensor access: same reader over the scan's byte source (a local file read directly, or Hub ranges). */
export function cliTensorOpener(): TensorOpener {
  return async (source, snapshot) => {
    const provider = createTensorStatsProvider(source, snapshot);
    return { provider, close: () => provider.close() };
  };
}
