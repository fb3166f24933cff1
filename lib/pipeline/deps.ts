import type { CheckContext, Snapshot } from '../../checks/types.ts';
import type { Config } from '../config.ts';
import type { Pool } from '../db.ts';
import type { Logger } from '../logger.ts';
import type { Queues } from '../queues.ts';
import type { Release } from '../releases.repo.ts';

/** What every pipeline step is given: the database, the queues, the configuration and a logger. */
export interface PipelineDeps {
  pool: Pool;
  queues: Queues;
  cfg: Config;
  log: Logger;
}

/** Extra capabilities a process gives its checks: the runner reads tensors, the CPU workers don't. */
export interface CheckEnv {
  /** Opens a tensor reader for the release, and for its declared base when given (runner only); closed after the check. */
  openTensors?: (
    release: Release,
    snapshot: Snapshot,
    base?: Snapshot | null,
  ) => Promise<{
    provider: NonNullable<CheckContext['tensors']>;
    baseTensors?: CheckContext['baseTensors'];
    close(): Promise<void>;
  }>;
  /** Releases what the environment holds for the whole process (sockets), at shutdown. */
  close?: () => Promise<void>;
}
