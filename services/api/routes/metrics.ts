import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { checkDurations, outcomeCounts } from '../../../lib/metrics.repo.ts';
import { exposition, histogram } from '../../../lib/prometheus.ts';
import type { MetricFamily } from '../../../lib/prometheus.ts';

const BOUNDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized'] as const;

/** Jobs per queue and state, from Redis. */
async function queueDepths(app: FastifyInstance): Promise<MetricFamily> {
  const { queues } = app.deps;
  const samples = [];
  for (const q of [queues.release, queues.checks, queues.tensor, queues.notify]) {
    const counts = await q.getJobCounts(...STATES);
    for (const state of STATES) samples.push({ labels: { queue: q.name, state }, value: counts[state] ?? 0 });
  }
  return { name: 'hubwatch_queue_jobs', help: 'Jobs in each queue by state.', type: 'gauge', samples };
}

const counter = (name: string, help: string, label: string, counts: Record<string, number>): MetricFamily => ({
  name,
  help,
  type: 'counter',
  samples: Object.entries(counts).map(([k, value]) => ({ labels: { [label]: k }, value })),
});

/** This process's response cache: answers by result, entries, bytes, and whether its change feed listens. */
function cacheMetrics(app: FastifyInstance): MetricFamily[] {
  const c = app.responseCache;
  if (!c) return [];
  const gauge = (name: string, help: string, value: number): MetricFamily => ({
    name,
    help,
    type: 'gauge',
    samples: [{ labels: {}, value }],
  });
  return [
    counter('hubwatch_api_cache_requests_total', 'Cacheable GET requests of this process, by result.', 'result', {
      hit: c.hits,
      miss: c.misses,
    }),
    gauge('hubwatch_api_cache_entries', 'Answers in the response cache of this process.', c.size),
    gauge('hubwatch_api_cache_bytes', 'Bytes the response cache of this process counts for its answers.', c.byteCount),
    gauge(
      'hubwatch_api_cache_listening',
      '1 while this process listens for change notifications (its cache is used), else 0.',
      c.feed.listening ? 1 : 0,
    ),
  ];
}

/** GET /metrics: Prometheus text format (queue depths, check durations, webhook and alert outcomes, releases). */
export async function metricsRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text exposition format 0.0.4)',
        response: { 200: Type.String({ description: 'text/plain; version=0.0.4' }) },
      },
    },
    async (_req, reply) => {
      const { pool } = app.deps;
      const [queues, durations, outcomes] = await Promise.all([
        queueDepths(app),
        checkDurations(pool, BOUNDS),
        outcomeCounts(pool),
      ]);
      const body = exposition([
        queues,
        histogram(
          'hubwatch_check_duration_seconds',
          'Duration of finished check runs, per check.',
          BOUNDS,
          durations.map((d) => ({ labels: { check: d.check }, counts: d.counts, sum: d.sum, count: d.count })),
        ),
        counter(
          'hubwatch_webhook_deliveries_total',
          'Webhook deliveries stored, by outcome.',
          'outcome',
          outcomes.webhooks,
        ),
        counter(
          'hubwatch_alerts_total',
          'Slack alerts by last status (sent, failed, pending).',
          'status',
          outcomes.alerts,
        ),
        ...cacheMetrics(app),
        {
          name: 'hubwatch_releases',
          help: 'Releases by status.',
          type: 'gauge',
          samples: Object.entries(outcomes.releases).map(([status, value]) => ({ labels: { status }, value })),
        },
      ]);
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(body);
    },
  );
}
