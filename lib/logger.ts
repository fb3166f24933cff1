import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/**
 * The root logger. Tokens and Slack webhook URLs are redacted wherever they appear in a logged object.
 * Logs go to stderr so that `hubwatch scan --json` keeps stdout for the report.
 */
export function createLogger(level = 'info', name = 'hubwatch'): Logger {
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
    },
    pino.destination(2),
  );
}
