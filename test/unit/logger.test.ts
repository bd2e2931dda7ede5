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

test('redactUrl compares parameter names after percent-decoding, as the query parser reads them', () => {
  assert.equal(
    redactUrl('/v1/jobs/1/events?access%5Ftoken=eyJ.x.y'),
    '/v1/jobs/1/events?access%5Ftoken=[redacted]',
  );
  assert.equal(
    redactUrl('/v1/jobs/1/events?%61ccess_token=T&a=1'),
    '/v1/jobs/1/events?%61ccess_token=[redacted]&a=1',
  );
  assert.equal(redactUrl('/v1/media/1?exp=1&%73ig=abc#frag'), '/v1/media/1?exp=1&%73ig=[redacted]#frag');
  assert.equal(redactUrl('/v1/jobs/1/events?ACCESS_TOKEN=T'), '/v1/jobs/1/events?ACCESS_TOKEN=[redacted]');
  // a malformed escape neither throws nor hides the rest
  assert.equal(redactUrl('/x?a=%E0%A4%A&access_token=T'), '/x?a=%E0%A4%A&access_token=[redacted]');
  assert.equal(redactUrl('/x?access_token'), '/x?access_token=[redacted]');
});
