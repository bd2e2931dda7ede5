import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inputToOriginal, letterboxGeometry } from '../../../src/inference/resize.js';
import { ffmpegScaleFilter } from '../../../src/media/scale.js';

test('ffmpegScaleFilter: stretch and letterbox filters', () => {
  assert.equal(ffmpegScaleFilter({ width: 512, height: 512, resize: 'stretch' }), 'scale=512:512');
  assert.equal(
    ffmpegScaleFilter({ width: 640, height: 480, resize: 'letterbox' }),
    'scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2:color=0x727272',
  );
});

test('letterboxGeometry: landscape, portrait, odd padding, exact fit', () => {
  assert.deepEqual(letterboxGeometry({ width: 451, height: 300 }, { width: 640, height: 640 }), {
    scaledWidth: 640,
    scaledHeight: 426, // round(640*300/451 = 425.7)
    padX: 0,
    padY: 107,
  });
  assert.deepEqual(letterboxGeometry({ width: 300, height: 600 }, { width: 640, height: 640 }), {
    scaledWidth: 320,
    scaledHeight: 640,
    padX: 160,
    padY: 0,
  });
  // 640 - 427 = 213 pixels of padding: 106 on top (truncated), 107 below
  assert.equal(letterboxGeometry({ width: 600, height: 400 }, { width: 640, height: 640 }).padY, 106);
  assert.deepEqual(letterboxGeometry({ width: 1280, height: 1280 }, { width: 640, height: 640 }), {
    scaledWidth: 640,
    scaledHeight: 640,
    padX: 0,
    padY: 0,
  });
});

test('inputToOriginal: stretch scales per axis, letterbox removes the padding first', () => {
  assert.deepEqual(
    inputToOriginal({ width: 1920, height: 1080 }, { width: 512, height: 512, resize: 'stretch' }),
    {
      offsetX: 0,
      offsetY: 0,
      scaleX: 3.75,
      scaleY: 2.109375,
    },
  );
  const m = inputToOriginal({ width: 1280, height: 640 }, { width: 640, height: 640, resize: 'letterbox' });
  assert.deepEqual(m, { offsetX: 0, offsetY: 160, scaleX: 2, scaleY: 2 });
});
