/**
 * The registry and the image detection service with the real ffmpeg/ffprobe and the converted
 * default model, plus letterboxGeometry checked against what ffmpeg's filter really does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  createModelRegistry,
  type ModelRegistry,
  UnknownModelError,
} from '../../../src/inference/registry.js';
import { letterboxGeometry } from '../../../src/inference/resize.js';
import { decodeStillImage } from '../../../src/media/image.js';
import { ffmpegScaleFilter } from '../../../src/media/scale.js';
import { mediaSettings } from '../../../src/media/settings.js';
import {
  createImageDetectionService,
  type ImageDetectionService,
} from '../../../src/services/image-detection.js';
import { decodeRgb, fixture } from './helpers/fixtures.js';

describe('image detection with the default model', () => {
  let registry: ModelRegistry;
  let images: ImageDetectionService;
  const opts = { minScore: 0.25 };
  before(async () => {
    registry = await createModelRegistry({
      cacheDir: mkdtempSync(join(tmpdir(), 'wd-cache-')),
      intraOpThreads: 2,
    });
    images = createImageDetectionService({ models: registry, media: mediaSettings() });
  });
  after(() => registry.close());

  test('lists the bundled centernet (and its int8 variant) and caches its detector', async () => {
    assert.deepEqual(
      registry.list().map((m) => [m.name, m.decoder, m.labels.length, m.source]),
      [
        ['centernet', 'centernet', 80, 'bundled'],
        ['centernet-int8', 'centernet', 80, 'bundled'],
      ],
    );
    assert.equal(await registry.get(), await registry.get('centernet'));
    await assert.rejects(registry.get('nope'), UnknownModelError);
  });

  test('coffee.png (600x400) from a path: NMS leaves one cup, boxes in original pixels', async () => {
    const r = await images.detect(fixture('coffee.png'), opts);
    assert.equal(r.model, 'centernet');
    assert.deepEqual([r.width, r.height], [600, 400]);
    assert.deepEqual(
      r.detections.map((d) => [d.label, +d.score.toFixed(2)]),
      [
        ['cup', 0.44],
        ['dining table', 0.42],
      ],
    );
    for (const d of r.detections) {
      assert.ok(d.box.x1 >= 0 && d.box.x2 <= 600 && d.box.y1 >= 0 && d.box.y2 <= 400 && d.box.x2 > d.box.x1);
    }
  });

  test('chelsea.png from a Buffer with a label filter', async () => {
    const r = await images.detect(readFileSync(fixture('chelsea.png')), { ...opts, labels: ['bed'] });
    assert.deepEqual([r.width, r.height], [451, 300]);
    assert.deepEqual(
      r.detections.map((d) => d.label),
      ['bed'],
    );
  });

  test('a text file is a 415 NOT_AN_IMAGE with one sentence', async () => {
    const p = join(mkdtempSync(join(tmpdir(), 'wd-img-')), 'x.png');
    writeFileSync(p, 'not an image at all\n');
    const notAnImage = (e: Error) =>
      e instanceof AppError &&
      e.statusCode === 415 &&
      e.code === 'NOT_AN_IMAGE' &&
      e.message === 'The file is not a JPEG, PNG or WebP image.';
    await assert.rejects(images.detect(p, opts), notAnImage);
    await assert.rejects(images.detect(Buffer.from('GIF89a'), opts), notAnImage);
  });
});

test("letterboxGeometry matches ffmpeg (Debian's and the shipped one): grey 114 exactly where we say the padding is", async () => {
  for (const [name, w, h, shipped] of [
    ['chelsea.png', 451, 300, false],
    ['coffee.png', 600, 400, false],
    ['chelsea.png', 451, 300, true],
    ['coffee.png', 600, 400, true],
  ] as const) {
    const input = { width: 320, height: 320, resize: 'letterbox' as const };
    const rgb = shipped
      ? (await decodeStillImage(mediaSettings(), fixture(name), input)).rgb
      : decodeRgb(fixture(name), ffmpegScaleFilter(input));
    const g = letterboxGeometry({ width: w, height: h }, input);
    const isPad = (y: number) => [0, 1, 2].every((c) => rgb[(y * 320 + 160) * 3 + c] === 114);
    assert.ok(isPad(g.padY - 1), `${name}: row above the image is padding`);
    assert.ok(!isPad(g.padY), `${name}: first image row is not padding`);
    assert.ok(!isPad(g.padY + g.scaledHeight - 1), `${name}: last image row is not padding`);
    assert.ok(isPad(g.padY + g.scaledHeight), `${name}: row below the image is padding`);
  }
});
