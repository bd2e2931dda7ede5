import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createLogger, redactUrl } from '../../src/logger.js';

test('redactUrl hides access tokens and media signatures, keeps the rest', () => {
  assert.equal(
    redactUrl('/v1/jobs/1/events?access_token=eyJhbGc.x.y&x=1'),
    '/v1/jobs/1/events?access_token=[redacted]&x=1',
  );
  assert.equal(redactUrl('/v1/media/1?exp=99&sig=abc'), '/v1/media/1?exp=99&sig=[redacted]');
  assert.equal(redactUrl('/v1/jobs?limit=5'), '/v1/jobs?limit=5');
});

test("the logger's request serializer logs the redacted URL, never the token", () => {
  type Serializers = { req: (r: object) => { url: string } };
  const log = createLogger({ logLevel: 'info', isProduction: false }, {}, false) as unknown as Record<
    symbol,
    Serializers
  >;
  const serialized = log[pino.symbols.serializersSym].req({
    method: 'GET',
    url: '/v1/jobs/1/events?access_token=secret-token',
  });
  assert.equal(serialized.url, '/v1/jobs/1/events?access_token=[redacted]');
  assert.doesNotMatch(JSON.stringify(serialized), /secret-token/);
});
