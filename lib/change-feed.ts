/**
 * The change notifications of migration 0010 (channel `hubwatch_changed`), as a generation number: it grows when a
 * change is notified and whenever the listening connection is (re)established, since notifications sent while no
 * connection listened are lost. A reader that saw generation g before reading from Postgres, and still sees g after,
 * read no data changed by a notification that has arrived since; whatever it read is replaced on the next notification.
 *
 * `listening` is false until LISTEN is in place and a notification the connection sends itself has come back, and
 * from the moment the connection fails (an error, its end, or a heartbeat notification not back within
 * `heartbeatTimeoutMs`) until a new one listens again: while it is false, nothing may be trusted to be current, and
 * the response cache neither stores nor serves.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DB_SESSION_OPTIONS } from './db.ts';
import type { Logger } from './logger.ts';

export const CHANGE_CHANNEL = 'hubwatch_changed';

export interface ChangeFeedOptions {
  /** Wait before reconnecting after a failure; doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  /** A notification sent to itself on the listening connection this often proves it still delivers (a dead peer never errors). */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
}

export interface ChangeFeed {
  /** Grows with every notification and every new listening connection. */
  readonly generation: number;
  /** LISTEN is in place on a live connection. */
  readonly listening: boolean;
  /** Resolves once listening (or closed). */
  ready(): Promise<void>;
  /** Counts a change seen by this process itself (a write it made), before its notification arrives. */
  bump(): void;
  close(): Promise<void>;
}

export function startChangeFeed(databaseUrl: string, log: Logger, opts: ChangeFeedOptions = {}): ChangeFeed {
  const retryMs = opts.retryMs ?? 500;
  const maxRetryMs = opts.maxRetryMs ?? 10_000;
  const heartbeatMs = opts.heartbeatMs ?? 5_000;
  const heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? 5_000;
  let generation = 0;
  let listening = false;
  let closed = false;
  let client: pg.Client | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  let wait = retryMs;
  let waiters: (() => void)[] = [];
  let failures = 0;

  const wake = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  /** Drops the connection (if it is still the current one) and schedules a new one. */
  const fail = (c: pg.Client, why: unknown): void => {
    if (client !== c) return;
    client = null;
    listening = false;
    generation++;
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = null;
    c.removeAllListeners('notification');
    c.on('error', () => undefined);
    void c.end().catch(() => undefined);
    if (closed) return;
    // The first failure of a run is worth a warning; the retries after it would fill the log while Postgres is down.
    if (failures++ === 0)
      log.warn({ err: why }, 'change feed lost its connection; responses are not cached until it is back');
    retryTimer = setTimeout(connect, wait);
    retryTimer.unref();
    wait = Math.min(wait * 2, maxRetryMs);
  };

  const connect = async (): Promise<void> => {
    retryTimer = null;
    if (closed) return;
    const c = new pg.Client({
      connectionString: databaseUrl,
      options: DB_SESSION_OPTIONS,
      keepAlive: true,
      application_name: 'hubwatch-change-feed',
    });
    client = c;
    c.on('error', (e) => fail(c, e));
    c.on('end', () => fail(c, new Error('connection ended')));
    // The heartbeat's own channel: a notification this connection sends itself must come back on it. A query alone
    // would not prove delivery (a pooler in transaction mode answers queries and loses notifications).
    const own = `hubwatch_feed_${randomBytes(6).toString('hex')}`;
    let expected = null as { payload: string; done: () => void } | null;
    c.on('notification', (n) => {
      const waiting = expected;
      if (n.channel === CHANGE_CHANNEL) generation++;
      else if (n.channel === own && waiting !== null && waiting.payload === n.payload) waiting.done();
    });
    let seq = 0;
    /** Sends a notification on `own` and resolves when it comes back; rejects after heartbeatTimeoutMs. */
    const probe = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('a notification did not come back')), heartbeatTimeoutMs);
        timer.unref();
        expected = {
          payload: String(++seq),
          done: () => {
            clearTimeout(timer);
            expected = null;
            resolve();
          },
        };
        c.query('SELECT pg_notify($1, $2)', [own, expected.payload]).catch((e: Error) => {
          clearTimeout(timer);
          reject(e);
        });
      });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANGE_CHANNEL}; LISTEN ${own}`);
      await probe();
    } catch (e) {
      fail(c, e);
      return;
    }
    if (client !== c || closed) return;
    // Changes made while no connection listened were not delivered: whatever was read before now is suspect.
    generation++;
    listening = true;
    wait = retryMs;
    if (failures > 0) log.info({ failures }, 'change feed listening again');
    failures = 0;
    heartbeat = setInterval(() => {
      if (expected === null) probe().catch((e) => fail(c, e));
    }, heartbeatMs);
    heartbeat.unref();
    wake();
  };

  void connect();

  return {
    get generation() {
      return generation;
    },
    get listening() {
      return listening;
    },
    ready: () => (listening || closed ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    bump: () => void generation++,
    async close() {
      closed = true;
      listening = false;
      generation++;
      if (retryTimer) clearTimeout(retryTimer);
      if (heartbeat) clearInterval(heartbeat);
      const c = client;
      client = null;
      wake();
      if (c) {
        c.removeAllListeners('end');
        c.on('error', () => undefined);
        await c.end().catch(() => undefined);
      }
    },
  };
}
