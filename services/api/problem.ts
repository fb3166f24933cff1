import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../lib/errors.ts';
import { redactUrl } from '../../lib/logger.ts';

/** Sends an RFC 9457 problem+json body. */
export function sendProblem(
  reply: FastifyReply,
  status: number,
  title: string,
  detail?: string,
  extra?: Record<string, unknown>,
): FastifyReply {
  return reply
    .status(status)
    .type('application/problem+json')
    .send({
      type: 'about:blank',
      title,
      status,
      ...(detail ? { detail } : {}),
      instance: redactUrl(reply.request.url),
      ...extra,
    });
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** The one error handler: every error becomes problem+json; 5xx internals are logged, not shown. */
export function problemHandler(
  err: FastifyError | AppError | Error,
  req: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (err instanceof AppError) {
    if (err.status >= 500) req.log.error({ err }, 'request failed');
    return sendProblem(
      reply,
      err.status,
      TITLES[err.status] ?? 'Error',
      err.status >= 500 && err.code !== 'unavailable' ? undefined : err.message,
      err.details,
    );
  }
  const fe = err as FastifyError;
  if (fe.validation) return sendProblem(reply, 400, 'Bad Request', fe.message);
  const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500;
  if (status < 500) return sendProblem(reply, status, TITLES[status] ?? 'Error', fe.message);
  // Postgres unreachable (restarting): tell the client to retry rather than hide it as a 500.
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED' || code === '57P01' || code === '57P03' || /connect|terminat/i.test(err.message)) {
    req.log.warn({ err }, 'dependency unavailable');
    return sendProblem(
      reply.header('retry-after', '5'),
      503,
      'Service Unavailable',
      'a dependency is unavailable; retry later',
    );
  }
  req.log.error({ err }, 'request failed');
  return sendProblem(reply, 500, 'Internal Server Error');
}

export function notFoundHandler(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, 404, 'Not Found', `no route ${req.method} ${req.url.split('?')[0]}`);
}
