import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadModelManifest, parseLabelsFile, parseManifest } from '../../../src/inference/manifest.js';

const good = {
  name: 'yolo11n',
  onnx: 'model.onnx',
  input: {
    width: 640,
    height: 640,
    layout: 'NCHW',
    channels: 'RGB',
    scale: 1,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    resize: 'letterbox',
  },
  decoder: 'yolo',
  labels: ['person', 'car'],
};

test('parseManifest accepts a full manifest and fills defaults', () => {
  const m = parseManifest(good, 'm/model.json', 'm');
  assert.deepEqual(m.info, {
    name: 'yolo11n',
    labels: ['person', 'car'],
    input: good.input,
    decoder: 'yolo',
    source: 'm',
  });
  const min = parseManifest(
    { name: 'x', input: { width: 32, height: 16, layout: 'NHWC' }, decoder: 'end2end', labelsFile: 'l.txt' },
    'f',
    's',
  );
  assert.deepEqual(min.info.input, {
    width: 32,
    height: 16,
    layout: 'NHWC',
    channels: 'RGB',
    scale: 1,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    resize: 'stretch',
  });
  assert.equal(min.onnx, 'model.onnx');
  assert.equal(min.labelsFile, 'l.txt');
});

test('parseManifest errors name the file and the field in one sentence', () => {
  const bad = (patch: object, field: string) =>
    assert.throws(
      () => parseManifest({ ...good, ...patch }, 'models/a/model.json', 'a'),
      (e: Error) => {
        assert.ok(e.message.startsWith(`models/a/model.json: field "${field}" `), e.message);
        assert.ok(e.message.endsWith('.'));
        return true;
      },
    );
  bad({ name: '' }, 'name');
  bad({ onnx: '../x.onnx' }, 'onnx');
  bad({ input: 3 }, 'input');
  bad({ input: { ...good.input, width: 0 } }, 'input.width');
  bad({ input: { ...good.input, layout: 'HWC' } }, 'input.layout');
  bad({ input: { ...good.input, scale: 2 } }, 'input.scale');
  bad({ input: { ...good.input, mean: [0, 0] } }, 'input.mean');
  bad({ input: { ...good.input, std: [1, 0, 1] } }, 'input.std');
  bad({ input: { ...good.input, resize: 'crop' } }, 'input.resize');
  bad({ decoder: 'ssd' }, 'decoder');
  bad({ labels: [] }, 'labels');
  bad({ labels: undefined }, 'labels');
});

test('loadModelManifest reads labelsFile and checks the onnx file exists', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wd-manifest-'));
  writeFileSync(
    join(dir, 'model.json'),
    JSON.stringify({ ...good, labels: undefined, labelsFile: 'labels.txt' }),
  );
  writeFileSync(join(dir, 'labels.txt'), 'person\r\n\ncar\n');
  await assert.rejects(loadModelManifest(dir), /field "onnx" names model.onnx, which does not exist/);
  writeFileSync(join(dir, 'model.onnx'), '');
  const m = await loadModelManifest(dir, 'mine');
  assert.deepEqual(m.info.labels, ['person', 'car']);
  assert.equal(m.info.source, 'mine');
  assert.equal(m.onnxPath, join(dir, 'model.onnx'));
  writeFileSync(join(dir, 'model.json'), '{oops');
  await assert.rejects(loadModelManifest(dir), /model.json: cannot be read as JSON/);
  assert.deepEqual(parseLabelsFile(' a \n\nb'), ['a', 'b']);
});
