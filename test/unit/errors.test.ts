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
  withoutPaths,
} from '../../src/errors.js';
import { isMalformedMultipart, validationSentence } from '../../src/http/plugins/errors.js';
import { waitPhrase } from '../../src/http/plugins/rate-limits.js';
import { hasBody } from '../../src/http/plugins/upload-rate.js';
import { failureReason } from '../../src/pipeline/failures.js';

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

describe('withoutPaths and failureReason', () => {
  it('replaces absolute file paths, keeps URLs, fractions and the sentence', () => {
    assert.equal(
      withoutPaths("ffprobe could not read the video's packets: /tmp/wd/storage/videos/1a2b: Invalid data."),
      "ffprobe could not read the video's packets: [path]: Invalid data.",
    );
    assert.equal(
      withoutPaths("ENOENT: no such file, open '/data/x.mp4'"),
      "ENOENT: no such file, open '[path]'",
    );
    assert.equal(withoutPaths('C:\\Users\\me\\clip.mp4 is bad'), '[path] is bad');
    assert.equal(
      withoutPaths('callback to http://example.com/hook answered'),
      'callback to http://example.com/hook answered',
    );
    assert.equal(withoutPaths('took 1/4 of the time'), 'took 1/4 of the time');
    assert.equal(withoutPaths('read failed at /var/lib/x.'), 'read failed at [path].');
  });
  it("a job's failure reason never carries the path a task's error named", () => {
    const reason = failureReason(
      'process',
      {},
      new Error(
        "ffprobe could not read the video's packets: /srv/data/storage/videos/abc: Invalid data found",
      ),
    );
    assert.equal(
      reason,
      "The video could not be prepared for analysis: ffprobe could not read the video's packets: [path]: Invalid data found.",
    );
  });
  it('recognises the multipart parser errors that have no code', () => {
    for (const m of [
      'Multipart: Boundary not found',
      'Unexpected end of multipart data',
      'Part terminated early due to unexpected end of multipart data',
    ]) {
      assert.ok(isMalformedMultipart(new Error(m)), m);
    }
    assert.ok(
      !isMalformedMultipart(Object.assign(new Error('Unexpected end of multipart data'), { code: 'X' })),
    );
    assert.ok(!isMalformedMultipart(new Error('database is down')));
  });
});

describe('small HTTP helpers', () => {
  it('waitPhrase reads like a sentence', () => {
    assert.equal(waitPhrase(0.2), 'in 1 second');
    assert.equal(waitPhrase(42), 'in 42 seconds');
    assert.equal(waitPhrase(600), 'in 10 minutes');
    assert.equal(waitPhrase(3600), 'in 60 minutes');
    assert.equal(waitPhrase(10_000), 'in 3 hours');
  });
  it('hasBody: a positive Content-Length or chunked', () => {
    assert.equal(hasBody({ 'content-length': '10' }), true);
    assert.equal(hasBody({ 'content-length': '0' }), false);
    assert.equal(hasBody({ 'transfer-encoding': 'chunked' }), true);
    assert.equal(hasBody({}), false);
  });
});
