import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureDefaultModel } from '../../../src/inference/convert/default-model.js';
import { decodeModel } from '../../../src/inference/onnx/proto.js';

test('ensureDefaultModel converts once, reuses the cache, and re-converts when stale', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wd-cache-'));
  const path = await ensureDefaultModel(join(dir, 'nested'));
  assert.equal(path, join(dir, 'nested', 'centernet.onnx'));
  assert.deepEqual(readdirSync(join(dir, 'nested')).sort(), ['centernet.onnx', 'centernet.onnx.source.json']);
  const model = decodeModel(readFileSync(path));
  assert.equal(model.opset, 13);
  assert.deepEqual(
    model.graph.output.map((o) => o.name),
    ['tower_0/keypoints', 'tower_0/wh'],
  );
  const sidecar = `${path}.source.json`;
  assert.match(JSON.parse(readFileSync(sidecar, 'utf8')).sha256, /^[0-9a-f]{64}$/);

  const first = statSync(path).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await ensureDefaultModel(join(dir, 'nested')), path);
  assert.equal(statSync(path).mtimeMs, first, 'a fresh cache is not rewritten');

  writeFileSync(sidecar, JSON.stringify({ sha256: 'old' }));
  await ensureDefaultModel(join(dir, 'nested'));
  assert.notEqual(statSync(path).mtimeMs, first, 'a stale cache is rewritten');
  assert.notEqual(JSON.parse(readFileSync(sidecar, 'utf8')).sha256, 'old');
});
