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
  405: 'Method Not Allowed',
  409: 'Conflict',
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
  if (fe.validation) return sendProblem(reply, 400, 'Bad Request', validationDetail(fe), allowedValues(fe));
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

type Validation = NonNullable<FastifyError['validation']>[number];

/** Where a validation failed and why, with the allowed values of an enum spelled out (an unknown code, say). */
function validationDetail(fe: FastifyError): string {
  const v: Validation | undefined = fe.validation?.[0];
  const allowed = (v?.params as { allowedValues?: unknown[] } | undefined)?.allowedValues;
  if (!v || !allowed) return fe.message;
  const where = `${fe.validationContext ?? 'request'}${v.instancePath.replace(/\//g, '.')}`;
  return `${where} must be one of: ${allowed.join(', ')}`;
}

function allowedValues(fe: FastifyError): Record<string, unknown> | undefined {
  const allowed = (fe.validation?.[0]?.params as { allowedValues?: unknown[] } | undefined)?.allowedValues;
  return allowed ? { allowedValues: allowed } : undefined;
}

/** 405 with `Allow` when the path exists for other methods, else 404; both problem+json. */
export function notFoundHandler(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = req.url.split('?')[0];
  const allowed = req.server.allowedMethods?.(path) ?? [];
  if (allowed.length && !allowed.includes(req.method))
    return sendProblem(
      reply.header('allow', allowed.join(', ')),
      405,
      'Method Not Allowed',
      `${req.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`,
    );
  return sendProblem(reply, 404, 'Not Found', `no route ${req.method} ${path}`);
}
