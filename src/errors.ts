/**
 * Application errors: each carries an HTTP status and a SNAKE_CASE code; the message is one
 * sentence meant for the user. The error-handler plugin turns them into
 * `{ error: { code, message } }`.
 */
export class AppError extends Error {
  readonly code: string;
  readonly statusCode: number;
  constructor(statusCode: number, code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.statusCode = statusCode;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, code = 'VALIDATION_ERROR') {
    super(400, code, message);
  }
}
export class UnauthorizedError extends AppError {
  constructor(message = 'Authentication is required.', code = 'UNAUTHORIZED') {
    super(401, code, message);
  }
}
export class ForbiddenError extends AppError {
  constructor(message = 'This action is not allowed.', code = 'FORBIDDEN') {
    super(403, code, message);
  }
}
export class NotFoundError extends AppError {
  constructor(message = 'The resource was not found.', code = 'NOT_FOUND') {
    super(404, code, message);
  }
}
export class ConflictError extends AppError {
  constructor(message: string, code = 'CONFLICT') {
    super(409, code, message);
  }
}
export class PayloadTooLargeError extends AppError {
  constructor(message = 'The request body is too large.', code = 'PAYLOAD_TOO_LARGE') {
    super(413, code, message);
  }
}
export class UnsupportedMediaError extends AppError {
  constructor(message: string, code = 'UNSUPPORTED_MEDIA_TYPE') {
    super(415, code, message);
  }
}
export class UnprocessableError extends AppError {
  constructor(message: string, code = 'UNPROCESSABLE') {
    super(422, code, message);
  }
}
export class RateLimitedError extends AppError {
  constructor(message = 'Too many requests, try again later.', code = 'RATE_LIMITED') {
    super(429, code, message);
  }
}
export class ServiceUnavailableError extends AppError {
  constructor(message = 'The service is not ready.', code = 'SERVICE_UNAVAILABLE') {
    super(503, code, message);
  }
}

/** Invalid configuration: the message is one sentence naming the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

export class RangeNotSatisfiableError extends AppError {
  constructor(message: string, code = 'RANGE_NOT_SATISFIABLE') {
    super(416, code, message);
  }
}

// An absolute file path: POSIX (`/a/b`, not the `//host/x` of a URL nor the `/4` of `1/4`) or
// Windows (`C:\a`). Ends at whitespace, quotes, brackets, commas and a colon followed by a space.
const ABSOLUTE_PATH =
  /(?<![\w.~:/\\-])\/(?:[^\s'"`()[\]{},;:]|:(?!\s|$))+|\b[A-Za-z]:\\(?:[^\s'"`()[\]{},;:])+/g;

/**
 * A message with every absolute file path replaced by `[path]`: for text that comes from outside
 * our own sentences (ffmpeg's stderr, file-system errors, a driver) before it reaches a user as a
 * job's error, a delivery's error or a readiness check. Where the server keeps its files is
 * nobody's business. Pure.
 */
export function withoutPaths(message: string): string {
  // a sentence's full stop after a path is not part of it
  return message.replace(ABSOLUTE_PATH, (path) => (path.endsWith('.') ? '[path].' : '[path]'));
}
