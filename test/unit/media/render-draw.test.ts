import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COCO_LABELS } from '../../../src/inference/coco-labels.js';
import {
  captionRect,
  captionText,
  drawOverlay,
  fillRect,
  hexToYuv,
  outlineRect,
  overlayMetrics,
  yuv420Planes,
} from '../../../src/media/render/draw.js';
import {
  CELL_WIDTH,
  fontCharacters,
  GLYPH_HEIGHT,
  GLYPH_WIDTH,
  glyphFor,
  hasGlyph,
  textSize,
} from '../../../src/media/render/font.js';
import { NearestFrames, nearest, type OverlayFrame, selectBoxes } from '../../../src/media/render/overlay.js';

function picture(w: number, h: number) {
  const buf = new Uint8Array(w * h * 1.5);
  buf.fill(16, 0, w * h); // black
  buf.fill(128, w * h);
  return { buf, pic: yuv420Planes(buf, w, h) };
}

test('font: every glyph is 5x8, every COCO label is drawn with glyphs of its own', () => {
  for (const ch of fontCharacters()) {
    const g = glyphFor(ch);
    assert.equal(g.length, GLYPH_HEIGHT, ch);
    for (const row of g) assert.equal(row.length, GLYPH_WIDTH, ch);
  }
  for (const label of COCO_LABELS)
    for (const ch of `${label} #12 0.87`) assert.ok(hasGlyph(ch), `${label}: ${ch}`);
  assert.deepEqual(glyphFor('A'), glyphFor('a'));
  assert.deepEqual(glyphFor('€'), glyphFor('?'));
  assert.deepEqual(textSize('ab', 2), { width: (2 * CELL_WIDTH - 1) * 2, height: GLYPH_HEIGHT * 2 });
  assert.deepEqual(textSize('', 3).width, 0);
});

test('hexToYuv: BT.601 limited range', () => {
  assert.deepEqual(hexToYuv('#000000'), { y: 16, u: 128, v: 128 });
  assert.deepEqual(hexToYuv('#ffffff'), { y: 235, u: 128, v: 128 });
  const red = hexToYuv('#ff0000');
  assert.deepEqual(red, { y: 81, u: 90, v: 240 });
});

test('fillRect: clipped to the picture, chroma on the 2x2 cells it touches', () => {
  const { pic } = picture(8, 4);
  const c = { y: 200, u: 10, v: 20 };
  fillRect(pic, -3, -3, 3, 1, c);
  assert.deepEqual([...pic.y.subarray(0, 8)], [200, 200, 200, 16, 16, 16, 16, 16]);
  assert.deepEqual([...pic.y.subarray(8, 16)], [16, 16, 16, 16, 16, 16, 16, 16]);
  assert.deepEqual([...pic.u], [10, 10, 128, 128, 128, 128, 128, 128]);
  fillRect(pic, 9, 0, 12, 2, c); // outside: nothing
  assert.equal(pic.y[7], 16);
});

test('outlineRect and metrics: even edges inside the picture; thickness grows with size', () => {
  assert.deepEqual(outlineRect({ x1: 3.4, y1: 5, x2: 20.2, y2: 30.9 }, 64, 64), {
    x0: 2,
    y0: 4,
    x1: 20,
    y1: 30,
  });
  assert.deepEqual(outlineRect({ x1: -10, y1: -10, x2: 100, y2: 100 }, 64, 48), {
    x0: 0,
    y0: 0,
    x1: 64,
    y1: 48,
  });
  assert.equal(outlineRect({ x1: 70, y1: 0, x2: 90, y2: 10 }, 64, 48), null);
  assert.deepEqual(overlayMetrics(320, 240), { thickness: 2, scale: 1 });
  assert.deepEqual(overlayMetrics(1920, 1080), { thickness: 6, scale: 3 });
});

test('captionText and captionRect: track id when known; above the box when it fits, else inside', () => {
  assert.equal(captionText({ label: 'person', score: 0.8734, trackId: 7 }), 'person #7 0.87');
  assert.equal(captionText({ label: 'cup', score: 0.5, trackId: null }), 'cup 0.50');
  const text = { width: 40, height: 8 };
  assert.deepEqual(captionRect({ x0: 10, y0: 40, x1: 60, y1: 80 }, text, 1, { width: 100, height: 100 }), {
    x0: 10,
    y0: 30,
    x1: 52,
    y1: 40,
  });
  // at the top edge: inside; at the right edge: moved left
  assert.deepEqual(captionRect({ x0: 80, y0: 0, x1: 100, y1: 50 }, text, 1, { width: 100, height: 100 }), {
    x0: 58,
    y0: 0,
    x1: 100,
    y1: 10,
  });
});

test('drawOverlay: the outline has the label colour, the inside is untouched, the caption has black ink', () => {
  const { pic } = picture(64, 64);
  const box = { x1: 10, y1: 30, x2: 50, y2: 60, label: 'person', score: 0.9, trackId: 3 };
  drawOverlay(pic, [box], () => '#4ade80');
  const green = hexToYuv('#4ade80');
  const at = (x: number, y: number) => ({
    y: pic.y[y * 64 + x],
    u: pic.u[(y >> 1) * 32 + (x >> 1)],
    v: pic.v[(y >> 1) * 32 + (x >> 1)],
  });
  assert.deepEqual(at(10, 45), green); // left edge
  assert.deepEqual(at(30, 59), green); // bottom edge
  assert.deepEqual(at(30, 45), { y: 16, u: 128, v: 128 }); // inside
  // the caption strip above the box: background in the colour, some black ink in it
  const strip = [];
  for (let x = 10; x < 60; x++) strip.push(pic.y[25 * 64 + x]);
  assert.ok(strip.includes(green.y) && strip.includes(16));
});

test('selectBoxes: labels, minScore, tracks (no trackId: left out when tracks are asked for)', () => {
  const dets = [
    { label: 'person', score: 0.9, box: { x1: 0, y1: 0, x2: 1, y2: 1 }, trackId: 1 },
    { label: 'person', score: 0.3, box: { x1: 0, y1: 0, x2: 1, y2: 1 }, trackId: 2 },
    { label: 'cup', score: 0.8, box: { x1: 0, y1: 0, x2: 1, y2: 1 } },
  ];
  const none = { labels: null, minScore: null, tracks: null };
  assert.equal(selectBoxes(dets, none).length, 3);
  assert.equal(selectBoxes(dets, none)[2].trackId, null);
  assert.deepEqual(
    selectBoxes(dets, { ...none, labels: ['cup'] }).map((b) => b.label),
    ['cup'],
  );
  assert.equal(selectBoxes(dets, { ...none, minScore: 0.5 }).length, 2);
  assert.deepEqual(
    selectBoxes(dets, { ...none, tracks: [2] }).map((b) => b.trackId),
    [2],
  );
});

test('nearest analysed frame: ties go to the earlier one; before the first and after the last', async () => {
  const f = (frameIndex: number): OverlayFrame => ({
    frameIndex,
    boxes: [{ x1: 0, y1: 0, x2: 1, y2: 1, label: String(frameIndex), score: 1, trackId: null }],
  });
  assert.equal(nearest(f(0), f(4), 2)?.frameIndex, 0);
  assert.equal(nearest(f(0), f(4), 3)?.frameIndex, 4);
  assert.equal(nearest(null, f(4), 0)?.frameIndex, 4);
  assert.equal(nearest(f(4), null, 9)?.frameIndex, 4);

  const analysed = [f(2), f(6), f(10)];
  let pulls = 0;
  const walker = new NearestFrames(async () => {
    pulls++;
    return analysed.shift() ?? null;
  });
  const shown: string[] = [];
  for (let n = 0; n < 14; n++) shown.push((await walker.boxesFor(n))[0]?.label ?? '-');
  assert.deepEqual(shown, ['2', '2', '2', '2', '2', '6', '6', '6', '6', '10', '10', '10', '10', '10']);
  assert.ok(pulls <= 5);
  const empty = new NearestFrames(async () => null);
  assert.deepEqual(await empty.boxesFor(0), []);
});
