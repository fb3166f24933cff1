import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

// The Hub may deliver the webhook secret as `?secret=` (hub-docs webhooks); a URL is never logged or echoed with it.
const SECRET_PARAM = /^(?:secret|token|access_token|api_key|apikey)$/i;

function decodedKey(pair: string): string {
  const key = pair.split('=')[0].replace(/\+/g, ' ');
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}

/** A URL with the values of secret-bearing query parameters (names compared decoded) replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const pairs = url.slice(q + 1).split('&');
  return `${url.slice(0, q)}?${pairs.map((p) => (SECRET_PARAM.test(decodedKey(p).trim()) ? `${p.split('=')[0]}=[redacted]` : p)).join('&')}`;
}

/** Fastify's request serializer with the URL redacted (used for every request log line). */
function reqSerializer(req: { method?: string; url?: string; host?: string; ip?: string }): Record<string, unknown> {
  return { method: req.method, url: redactUrl(req.url ?? ''), host: req.host, remoteAddress: req.ip };
}

/**
 * The root logger. Tokens and Slack webhook URLs are redacted wherever they appear in a logged object.
 * Logs go to stderr so that `hubwatch scan --json` keeps stdout for the report (tests may pass another stream).
 */
export function createLogger(
  level = 'info',
  name = 'hubwatch',
  destination: pino.DestinationStream = pino.destination(2),
): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: [
          '*.secret',
          '*.token',
          '*.accessToken',
          '*.slackWebhookUrl',
          '*.slack_webhook_url',
          'req.headers["x-webhook-secret"]',
          'req.headers.authorization',
          'webhookSecret',
          'hfToken',
          'apiToken',
          'slackWebhookUrl',
        ],
        censor: '[redacted]',
      },
      serializers: { req: reqSerializer },
    },
    destination,
  );
}
