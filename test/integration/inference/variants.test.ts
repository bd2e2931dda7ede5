/**
 * The int8 and fp16 variants of the default model, from the real converted model and the
 * committed calibration table: cached builds, what ONNX Runtime makes of the int8 graph, and
 * detections on the fixture photos next to fp32's. (Agreement over 240 clip frames is measured
 * by bench/inference.ts, not here: too slow for the suite.)
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { ensureDefaultModel } from '../../../src/inference/convert/default-model.js';
import { ensureFp16Model } from '../../../src/inference/convert/variants.js';
import { DataType, decodeGraph } from '../../../src/inference/onnx/proto.js';
import {
  CALIBRATION_FILE,
  ensureInt8Model,
  loadCalibrationTable,
  sha256,
} from '../../../src/inference/quantize/centernet-int8.js';
import { createModelRegistry, type ModelRegistry } from '../../../src/inference/registry.js';
import type { Detection } from '../../../src/inference/types.js';
import { decodeRgb, fixture } from './helpers/fixtures.js';

let cache: string;
before(() => {
  cache = mkdtempSync(join(tmpdir(), 'wd-variants-'));
});
after(() => rmSync(cache, { recursive: true, force: true }));

test('the committed calibration table belongs to the model this converter makes', async () => {
  const fp32 = readFileSync(await ensureDefaultModel(cache));
  const table = await loadCalibrationTable();
  assert.equal(
    table.fp32Sha256,
    sha256(fp32),
    'the converter or the source model changed: run node --import tsx scripts/calibrate-int8.ts',
  );
  assert.ok(table.frames.length >= 100, `${table.frames.length} calibration frames`);
  assert.ok(table.ranges[table.method], `ranges for ${table.method}`);
});

test('ensureInt8Model builds once, reuses the cache, refuses a table of another model', async () => {
  const path = await ensureInt8Model(cache);
  const first = statSync(path).mtimeMs;
  assert.equal(await ensureInt8Model(cache), path);
  assert.equal(statSync(path).mtimeMs, first, 'a fresh build is not rebuilt');
  const m = decodeGraph(readFileSync(path));
  assert.equal(m.graph.inputs[0].elemType, DataType.UINT8);
  assert.deepEqual(
    m.graph.outputs.map((o) => [o.name, o.elemType]),
    [
      ['tower_0/keypoints', DataType.FLOAT],
      ['tower_0/wh', DataType.FLOAT],
    ],
  );
  const stale = join(cache, 'stale-table.json');
  const table = JSON.parse(readFileSync(CALIBRATION_FILE, 'utf8'));
  writeFileSync(stale, JSON.stringify({ ...table, fp32Sha256: 'another model' }));
  const other = mkdtempSync(join(tmpdir(), 'wd-variants-stale-'));
  try {
    copyFileSync(join(cache, 'centernet.onnx'), join(other, 'centernet.onnx'));
    copyFileSync(join(cache, 'centernet.onnx.source.json'), join(other, 'centernet.onnx.source.json'));
    await assert.rejects(
      ensureInt8Model(other, { tableFile: stale }),
      /measured on another version of the default model: run node --import tsx scripts\/calibrate-int8\.ts/,
    );
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});

test('ONNX Runtime runs the int8 graph on integer kernels (QLinearConv, QLinearAdd, QLinearMul)', async () => {
  const file = join(cache, 'int8.optimized.onnx');
  const s = await ort.InferenceSession.create(await ensureInt8Model(cache), {
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: file,
  });
  await s.release();
  const ops = new Map<string, number>();
  for (const n of decodeGraph(readFileSync(file)).graph.nodes)
    ops.set(n.op_type, (ops.get(n.op_type) ?? 0) + 1);
  // the gates widened past their Clip bound (see buildInt8Model) and the tensors kept float leave
  // about a third of the convolutions in float
  assert.ok((ops.get('QLinearConv') ?? 0) >= 70, `QLinearConv: ${ops.get('QLinearConv')}`);
  assert.ok((ops.get('QLinearAdd') ?? 0) > 5 && (ops.get('QLinearMul') ?? 0) > 10, JSON.stringify([...ops]));
});

describe('the variants detect what fp32 detects in the fixture photos', () => {
  let registry: ModelRegistry;
  before(async () => {
    registry = await createModelRegistry({ cacheDir: cache, intraOpThreads: 2 });
  });
  after(() => registry.close());
  const original = { width: 512, height: 512 };
  const photos = ['astronaut.png', 'coffee.png'].map((f) => decodeRgb(fixture(f)));
  const top = (dets: Detection[]) => dets.map((d) => d.label);

  test('centernet-int8 is listed and finds the person and the cup', async () => {
    assert.ok(registry.list().some((m) => m.name === 'centernet-int8'));
    assert.ok(!registry.list().some((m) => m.name === 'centernet-fp16'), 'fp16 is for GPUs only');
    const fp32 = await (await registry.get('centernet')).detect(photos, original);
    const int8 = await (await registry.get('centernet-int8')).detect(photos, original);
    assert.equal(int8[0][0]?.label, 'person');
    assert.ok(
      Math.abs(int8[0][0].score - fp32[0][0].score) < 0.1,
      `person ${int8[0][0].score} vs ${fp32[0][0].score}`,
    );
    assert.ok(top(int8[1]).includes('cup'), `coffee.png: ${top(int8[1])}`);
  });

  test('centernet-fp16 (built here, run on the CPU through ONNX Runtime casts) matches fp32 closely', async () => {
    const fp16Path = await ensureFp16Model(cache);
    const g = decodeGraph(readFileSync(fp16Path)).graph;
    assert.equal(g.inputs[0].elemType, DataType.UINT8);
    assert.ok(g.initializers.filter((t) => t.data_type === DataType.FLOAT16).length > 200);
    const s = await ort.InferenceSession.create(fp16Path);
    const s32 = await ort.InferenceSession.create(join(cache, 'centernet.onnx'));
    const x = new ort.Tensor('float32', Float32Array.from(photos[0]), [1, 512, 512, 3]);
    const a = (await s32.run({ 'tower_0/images': x }))['tower_0/keypoints'].data as Float32Array;
    const x8 = new ort.Tensor('uint8', photos[0], [1, 512, 512, 3]);
    const b = (await s.run({ 'tower_0/images': x8 }))['tower_0/keypoints'].data as Float32Array;
    await s.release();
    await s32.release();
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    assert.ok(worst < 0.01, `keypoint scores differ by up to ${worst}`);
  });
});
