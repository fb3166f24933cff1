/** The closed list of application error codes; the API maps each to an HTTP status in one place. */
export type AppErrorCode =
  | 'config_invalid'
  | 'not_found'
  | 'bad_request'
  | 'unauthorized'
  | 'conflict'
  | 'unavailable'
  | 'source_unreachable'
  | 'internal';

const STATUS: Record<AppErrorCode, number> = {
  config_invalid: 500,
  not_found: 404,
  bad_request: 400,
  unauthorized: 401,
  conflict: 409,
  unavailable: 503,
  source_unreachable: 502,
  internal: 500,
};

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
  get status(): number {
    return STATUS[this.code];
  }
}
