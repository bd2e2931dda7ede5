import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AppError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  UnauthorizedError,
  UnprocessableError,
  UnsupportedMediaError,
  ValidationError,
} from '../../src/errors.js';
import { validationSentence } from '../../src/http/plugins/errors.js';

describe('errors', () => {
  it('subclasses carry status and code', () => {
    const cases: [AppError, number, string][] = [
      [new ValidationError('x.'), 400, 'VALIDATION_ERROR'],
      [new UnauthorizedError(), 401, 'UNAUTHORIZED'],
      [new ForbiddenError(), 403, 'FORBIDDEN'],
      [new NotFoundError(), 404, 'NOT_FOUND'],
      [new ConflictError('x.'), 409, 'CONFLICT'],
      [new PayloadTooLargeError(), 413, 'PAYLOAD_TOO_LARGE'],
      [new UnsupportedMediaError('x.'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [new UnprocessableError('x.'), 422, 'UNPROCESSABLE'],
      [new RateLimitedError(), 429, 'RATE_LIMITED'],
      [new NotFoundError('Job gone.', 'JOB_NOT_FOUND'), 404, 'JOB_NOT_FOUND'],
    ];
    for (const [e, status, code] of cases) {
      assert.ok(e instanceof AppError && e instanceof Error);
      assert.equal(e.statusCode, status);
      assert.equal(e.code, code);
      assert.equal(e.name, e.constructor.name);
    }
  });

  it('turns Ajv errors into one sentence', () => {
    assert.equal(
      validationSentence('body', [
        { keyword: 'type', instancePath: '/username', params: { type: 'string' } },
      ]),
      'body/username must be a string.',
    );
    assert.equal(
      validationSentence('body', [{ keyword: 'type', instancePath: '', params: { type: 'object' } }]),
      'body must be an object.',
    );
    assert.equal(
      validationSentence('querystring', [
        { keyword: 'required', instancePath: '', params: { missingProperty: 'x' } },
      ]),
      'querystring/x is required.',
    );
    assert.equal(
      validationSentence('body', [
        { keyword: 'maximum', instancePath: '/n', params: { comparison: '<=', limit: 5 } },
      ]),
      'body/n must be <= 5.',
    );
    assert.equal(validationSentence(undefined, []), 'The request is invalid.');
  });
});
