/**
 * The change notifications of migrations 0010 and 0013 (channel `hubwatch_changed`, the changed table as payload), as
 * generation numbers: `generation` grows when any change is notified and whenever the listening connection is
 * (re)established, since notifications sent while no connection listened are lost; `versionOf(tables)` grows with
 * those of the given tables only, and with everything that moves all of them (a new connection, `bump()`, an empty or
 * unknown payload). A reader that saw version v of the tables it reads before reading from Postgres, and still sees v
 * after, read no data changed by a notification that has arrived since.
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

/** The tables whose changes are notified (migration 0010's triggers), the payload of each since 0013. */
export const NOTIFYING_TABLES = [
  'models',
  'snapshots',
  'snapshot_files',
  'releases',
  'check_runs',
  'findings',
  'release_evidence',
  'mutes',
] as const;
export type NotifyingTable = (typeof NOTIFYING_TABLES)[number];
const TABLE_INDEX = new Map<string, number>(NOTIFYING_TABLES.map((t, i) => [t, i]));

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
  /**
   * Grows with every notification of one of `tables` and with every change of all of them (a new listening
   * connection, bump(), an empty or unknown payload); the same tables give comparable numbers.
   */
  versionOf(tables: readonly NotifyingTable[]): number;
  /** LISTEN is in place on a live connection. */
  readonly listening: boolean;
  /** Resolves once listening (or closed). */
  ready(): Promise<void>;
  /** Counts a change seen by this process itself (a write it made), before its notification arrives. */
  bump(): void;
  /**
   * Resolves once every notification of a transaction committed before the call has been counted: a notification the
   * listening connection sends itself comes back after them (Postgres delivers in commit order). Resolves at once
   * while not listening (nothing is served from the cache then).
   */
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

export function startChangeFeed(databaseUrl: string, log: Logger, opts: ChangeFeedOptions = {}): ChangeFeed {
  const retryMs = opts.retryMs ?? 500;
  const maxRetryMs = opts.maxRetryMs ?? 10_000;
  const heartbeatMs = opts.heartbeatMs ?? 5_000;
  const heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? 5_000;
  /** Changes that may touch every table; and the notifications of each table, by its index in NOTIFYING_TABLES. */
  let everything = 0;
  const perTable = new Array<number>(NOTIFYING_TABLES.length).fill(0);
  /** Counts a change of all tables. */
  const all = (): void => void everything++;
  const versionOf = (tables: readonly NotifyingTable[]): number => {
    let v = everything;
    for (const t of tables) v += perTable[TABLE_INDEX.get(t)!];
    return v;
  };
  let listening = false;
  let closed = false;
  let client: pg.Client | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  let wait = retryMs;
  let waiters: (() => void)[] = [];
  let failures = 0;
  /** The current connection's round trip of a notification to itself, while it listens. */
  let roundTrip: (() => Promise<void>) | null = null;

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
    roundTrip = null;
    all();
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
    /** The probes on their way, by payload. */
    const expected = new Map<string, () => void>();
    c.on('notification', (n) => {
      if (n.channel === CHANGE_CHANNEL) {
        const i = TABLE_INDEX.get(n.payload ?? '');
        if (i === undefined) all();
        else perTable[i]++;
      } else if (n.channel === own) expected.get(n.payload ?? '')?.();
    });
    let seq = 0;
    /** The probes' queries go out one after another: pg warns about (and will refuse) a query sent while one runs. */
    let sending: Promise<unknown> = Promise.resolve();
    /** Sends a notification on `own` and resolves when it comes back; rejects after heartbeatTimeoutMs. */
    const probe = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const payload = String(++seq);
        const settle = (e?: Error): void => {
          clearTimeout(timer);
          expected.delete(payload);
          if (e) reject(e);
          else resolve();
        };
        const timer = setTimeout(() => settle(new Error('a notification did not come back')), heartbeatTimeoutMs);
        timer.unref();
        expected.set(payload, () => settle());
        sending = sending
          .then(() => c.query('SELECT pg_notify($1, $2)', [own, payload]))
          .catch((e: Error) => settle(e));
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
    all();
    listening = true;
    roundTrip = () => probe().catch((e) => fail(c, e));
    wait = retryMs;
    if (failures > 0) log.info({ failures }, 'change feed listening again');
    failures = 0;
    let beating = false;
    heartbeat = setInterval(() => {
      if (beating) return;
      beating = true;
      void probe().then(
        () => void (beating = false),
        (e) => fail(c, e),
      );
    }, heartbeatMs);
    heartbeat.unref();
    wake();
  };

  void connect();

  return {
    get generation() {
      return versionOf(NOTIFYING_TABLES);
    },
    versionOf,
    get listening() {
      return listening;
    },
    ready: () => (listening || closed ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    bump: all,
    caughtUp: () => roundTrip?.() ?? Promise.resolve(),
    async close() {
      closed = true;
      listening = false;
      roundTrip = null;
      all();
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
