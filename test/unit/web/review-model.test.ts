// The web UI's pure parts: formatting, colours, filters in the URL, frame stepping, timeline
// arithmetic, caption placement, progress estimates, routes, label autocomplete, features.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COCO_LABELS } from '../../../src/inference/coco-labels.js';
import { placeCaptions } from '../../../web/src/captions.js';
import { contrast, labelColor, PALETTE } from '../../../web/src/colors.js';
import { featuresOf } from '../../../web/src/features.js';
import { apiQuery, readState, writeState } from '../../../web/src/filters.js';
import { fmtDuration, fmtTime, parseTime } from '../../../web/src/format.js';
import { frameAt, indexOfFrameNumber, seekTimeOf, seekWhere, stepIndex } from '../../../web/src/frames.js';
import { createEta, progressLine } from '../../../web/src/progress.js';
import { parseRoute } from '../../../web/src/routes.js';
import { ownsKeys } from '../../../web/src/shortcuts.js';
import {
  axisTicks,
  densityBins,
  follow,
  timeAtX,
  xAtTime,
  zoomWindow,
} from '../../../web/src/timeline-model.js';
import { labelSuggestions, splitLabels } from '../../../web/src/upload-form.js';

describe('format', () => {
  test('times', () => {
    assert.equal(fmtTime(3.25), '0:03.3');
    assert.equal(fmtTime(62.04, 2), '1:02.04');
    assert.equal(fmtTime(3723.4), '1:02:03.4');
    assert.equal(fmtTime(59.96), '1:00.0', 'rounding carries into the minute');
    assert.equal(fmtTime(7, 0), '0:07');
    assert.equal(parseTime('12.5'), 12.5);
    assert.equal(parseTime('1:02.5'), 62.5);
    assert.equal(parseTime('1:02:03'), 3723);
    assert.equal(parseTime(fmtTime(83.4)), 83.4, 'what fmtTime writes parseTime reads');
    for (const bad of ['', 'abc', '1:2:3:4', '-3', '1e3']) assert.equal(parseTime(bad), null, bad);
    assert.equal(fmtDuration(7.24), '7.2 s');
    assert.equal(fmtDuration(125), '2 min 05 s');
  });
});

describe('label colours', () => {
  test('stable, black captions readable on every colour, bright on the dark lanes', () => {
    assert.equal(labelColor('person'), labelColor('person'));
    for (const c of PALETTE) {
      assert.ok(contrast(c, '#000000') >= 4.5, `${c} with black text: ${contrast(c, '#000000').toFixed(2)}`);
      assert.ok(contrast(c, '#1d2129') >= 3, `${c} on the lane: ${contrast(c, '#1d2129').toFixed(2)}`);
    }
    assert.equal(new Set(PALETTE).size, PALETTE.length);
  });
  test('the common street and home labels all differ', () => {
    const common = [
      'person',
      'car',
      'truck',
      'bicycle',
      'motorcycle',
      'bus',
      'dog',
      'cat',
      'bird',
      'chair',
      'cup',
      'bottle',
      'dining table',
    ];
    assert.equal(new Set(common.map(labelColor)).size, common.length);
    assert.equal(labelColor('person'), '#4ade80');
    // every COCO label has one of the palette's colours
    for (const l of COCO_LABELS) assert.ok((PALETTE as readonly string[]).includes(labelColor(l)));
  });
  test('contrast matches WCAG', () => {
    assert.equal(contrast('#000000', '#ffffff').toFixed(1), '21.0');
    assert.equal(contrast('#777777', '#ffffff').toFixed(2), '4.48');
  });
});

describe('filters in the URL', () => {
  const defaults = { minScore: 0.25 };
  test('round trip, defaults left out', () => {
    const s = { labels: ['person', 'car'], minScore: 0.4, from: 2, to: 8.5, t: 3.2 };
    const q = writeState(s, defaults);
    assert.equal(q.toString(), 'labels=person%2Ccar&minScore=0.4&from=2&to=8.5&t=3.2');
    assert.deepEqual(readState(q, defaults), s);
    assert.equal(
      writeState({ labels: null, minScore: 0.25, from: null, to: null, t: 0 }, defaults).toString(),
      '',
    );
  });
  test('malformed values fall back; from/to are put in order', () => {
    const s = readState(new URLSearchParams('minScore=7&from=9&to=2&t=x'), defaults);
    assert.deepEqual(s, { labels: null, minScore: 0.25, from: 2, to: 9, t: null });
    assert.deepEqual(readState(new URLSearchParams('labels='), defaults).labels, []);
  });
  test('the API query for downloads: labels only when some are hidden, null when none shown', () => {
    const all = ['person', 'car', 'dog'];
    const f = { labels: null, minScore: 0.3, from: null, to: null };
    assert.equal(apiQuery(f, all)?.toString(), 'minScore=0.3');
    assert.equal(
      apiQuery({ ...f, labels: ['car', 'person'], from: 1, to: 4 }, all)?.toString(),
      'label=car%2Cperson&minScore=0.3&from=1&to=4',
    );
    assert.equal(apiQuery({ ...f, labels: [] }, all), null);
  });
});

describe('frame stepping', () => {
  const frames = [0, 0.1, 0.2, 0.4, 0.5].map((timestamp, i) => ({
    timestamp,
    frameIndex: [0, 1, 2, 4, 5][i],
    detections: [],
  }));
  test('frameAt: the frame on screen at a time', () => {
    assert.equal(frameAt(frames, -0.1), -1);
    assert.equal(frameAt(frames, 0), 0);
    assert.equal(frameAt(frames, 0.3999999), 3, 'a millisecond of slack');
    assert.equal(frameAt(frames, 0.35), 2);
    assert.equal(frameAt(frames, 9), 4);
  });
  test('neighbours, label jumps, frame numbers, seek times', () => {
    assert.equal(stepIndex(5, 2, 1), 3);
    assert.equal(stepIndex(5, 4, 1), 4);
    assert.equal(stepIndex(5, 0, -1), 0);
    assert.equal(stepIndex(5, -1, 1), 0);
    const has = (i: number) => i === 1 || i === 4;
    assert.equal(seekWhere(5, 1, 1, has), 4);
    assert.equal(seekWhere(5, 4, -1, has), 1);
    assert.equal(seekWhere(5, 1, -1, has), -1);
    assert.equal(indexOfFrameNumber(frames, 4), 3);
    assert.equal(indexOfFrameNumber(frames, 3), 2, 'the nearest analysed frame (first of a tie)');
    const t = seekTimeOf(frames, 3, 10);
    assert.ok(t > 0.4 && t < 0.5 && frameAt(frames, t) === 3);
  });
});

describe('timeline arithmetic', () => {
  test('zoom keeps the time under the pointer, stays inside the video, stops at a second', () => {
    const w = zoomWindow({ start: 0, end: 100 }, 0.5, 25, 100);
    assert.deepEqual(w, { start: 12.5, end: 62.5 });
    assert.deepEqual(zoomWindow({ start: 0, end: 100 }, 0.5, 99, 100), { start: 49.5, end: 99.5 });
    assert.deepEqual(zoomWindow({ start: 50, end: 100 }, 0.5, 100, 100), { start: 75, end: 100 });
    assert.deepEqual(zoomWindow({ start: 10, end: 11 }, 0.5, 10.5, 100), { start: 10, end: 11 });
    assert.deepEqual(zoomWindow({ start: 40, end: 60 }, 100, 50, 100), { start: 0, end: 100 });
  });
  test('x ↔ time and following the playhead', () => {
    const w = { start: 10, end: 20 };
    assert.equal(timeAtX(w, 250, 1000), 12.5);
    assert.equal(xAtTime(w, 12.5, 1000), 250);
    assert.equal(timeAtX(w, -5, 1000), 10);
    assert.equal(follow(w, 15, 100), w);
    assert.deepEqual(follow(w, 25, 100), { start: 24, end: 34 });
  });
  test('axis ticks: round steps, at least the gap apart', () => {
    assert.deepEqual(axisTicks({ start: 0, end: 10 }, 800), {
      step: 1,
      ticks: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    });
    assert.equal(axisTicks({ start: 0, end: 3600 }, 1000).step, 300);
    assert.deepEqual(axisTicks({ start: 1.05, end: 1.5 }, 400).ticks, [1.1, 1.2, 1.3, 1.4, 1.5]);
  });
  test('density: share of frames per bin; a bin between frames takes the frame on screen', () => {
    const times = [0, 1, 2, 3, 4, 5, 6, 7];
    const present = [1, 1, 0, 0, 1, 0, 1, 1];
    assert.deepEqual([...densityBins(times, present, { start: 0, end: 8 }, 4)], [1, 0, 0.5, 1]);
    // zoomed past the frame rate: 4 bins over [4, 4.8]: all show frame 4
    assert.deepEqual([...densityBins(times, present, { start: 4, end: 4.8 }, 4)], [1, 1, 1, 1]);
    assert.deepEqual(
      [...densityBins(times, present, { start: 5, end: 6 }, 2)],
      [0, 1],
      'the end is inclusive',
    );
  });
});

describe('captions never overlap', () => {
  test('two boxes with the same top-left get stacked captions, inside the canvas', () => {
    const placed = placeCaptions(
      [
        { x: 10, y: 50, w: 80, h: 20 },
        { x: 12, y: 52, w: 80, h: 20 },
        { x: 0, y: 0, w: 80, h: 20 },
        { x: 590, y: 5, w: 80, h: 20 },
      ],
      640,
      360,
    );
    for (let i = 0; i < placed.length; i++)
      for (let j = i + 1; j < placed.length; j++) {
        const a = placed[i];
        const b = placed[j];
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        assert.ok(!overlap, `captions ${i} and ${j} overlap: ${JSON.stringify([a, b])}`);
      }
    assert.deepEqual(placed[0], { x: 10, y: 30, w: 80, h: 20 }, 'the first goes above its box');
    assert.ok(placed.every((p) => p.x >= 0 && p.x + p.w <= 640 && p.y >= 0 && p.y + p.h <= 360));
  });
});

describe('progress', () => {
  test('time left from the recent speed; nothing to go on is null', () => {
    const eta = createEta();
    assert.equal(eta.secondsLeft(100, 0), null);
    eta.add(0, 10);
    assert.equal(eta.secondsLeft(100, 500), null);
    eta.add(2000, 30); // 10 frames a second
    assert.equal(eta.secondsLeft(100, 2000), 7);
    const seeded = createEta(0); // started at 0 (server clock), first event at 5 s with 50 done
    seeded.add(5000, 50);
    assert.equal(seeded.secondsLeft(100, 5000), 5);
  });
  test('the line people read', () => {
    const p = {
      chunksDone: 1,
      chunksTotal: 3,
      framesDone: 48,
      framesTotal: 120,
      framesSkipped: 0,
      percent: 40,
    };
    assert.equal(progressLine('processing', p, 12.4), '48 of 120 frames · 40% · about 12 s left');
    assert.equal(progressLine('queued', p, null), 'Queued: waiting for a worker');
  });
});

describe('routes, shortcuts, labels, features', () => {
  test('routes', () => {
    assert.deepEqual(parseRoute('#/'), { page: 'jobs' });
    const r = parseRoute('#/jobs/abc?labels=person&t=2');
    assert.ok(r.page === 'job' && r.id === 'abc' && r.query.get('t') === '2');
    assert.deepEqual(parseRoute('#/jobs/%E0%A4%A'), { page: 'jobs' });
  });
  test('keys that belong to the focused control', () => {
    assert.equal(ownsKeys('INPUT', 'text', false), true);
    assert.equal(ownsKeys('INPUT', 'range', false), true);
    assert.equal(ownsKeys('INPUT', 'checkbox', false), false);
    assert.equal(ownsKeys('VIDEO', null, false), false);
    assert.equal(ownsKeys('DIV', null, true), true);
  });
  test('label autocomplete completes the last part of the list', () => {
    assert.deepEqual(splitLabels(' person, ,car '), ['person', 'car']);
    assert.deepEqual(labelSuggestions('person, ca', ['person', 'car', 'cat', 'cake', 'bicycle']), [
      'person, car',
      'person, cat',
      'person, cake',
    ]);
    assert.deepEqual(labelSuggestions('', ['a', 'b']), ['a', 'b']);
  });
  test('features from an OpenAPI document', () => {
    assert.deepEqual(featuresOf({}), { tracks: false, exportFormats: [], renders: false });
    const doc = {
      paths: {
        '/v1/jobs/{id}/tracks': { get: {} },
        '/v1/jobs/{id}/export': {
          get: {
            parameters: [
              { name: 'format', in: 'query', schema: { anyOf: [{ const: 'coco' }, { const: 'mot' }] } },
            ],
          },
        },
        '/v1/jobs/{id}/renders': { post: {} },
      },
    };
    assert.deepEqual(featuresOf(doc), { tracks: true, exportFormats: ['coco', 'mot'], renders: true });
  });
});
