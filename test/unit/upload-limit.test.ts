import assert from 'node:assert/strict';
import { test } from 'node:test';
import { declaredTooLarge, MULTIPART_OVERHEAD_BYTES } from '../../src/http/routes/jobs.js';

test('declaredTooLarge refuses only a declared length beyond the limit plus multipart room', () => {
  const max = 1000;
  assert.equal(declaredTooLarge(undefined, max), false); // chunked: left to the streaming limit
  assert.equal(declaredTooLarge('abc', max), false); // malformed: Node rejects it before us
  assert.equal(declaredTooLarge(String(max + MULTIPART_OVERHEAD_BYTES), max), false);
  assert.equal(declaredTooLarge(String(max + MULTIPART_OVERHEAD_BYTES + 1), max), true);
  assert.equal(declaredTooLarge('99999999999999', max), true);
});
