// The review page's objects, exports and renders (issue 11 in the UI), pure parts: which tracks
// the list shows, counts per label, "only this label", box emphasis and captions, the selected
// track in the frames, the export request for what is on screen, the render request and polling.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  exportFileName,
  exportName,
  exportPath,
  isRenderDone,
  keepPolling,
  orderFormats,
  RENDER_POLL_LIMIT_MS,
  renderLine,
  renderPercent,
  renderRequest,
} from '../../../web/src/exports-model.js';
import { seekWhere } from '../../../web/src/frames.js';
import {
  captionText,
  emphasisOf,
  frameHasTrack,
  isOnlyLabel,
  labelCounts,
  parseJump,
  toggleOnlyLabel,
  trackIdOf,
  trackName,
  trackPresence,
  trackSpanText,
  visibleTracks,
} from '../../../web/src/tracks-model.js';

const all = { labels: null, minScore: 0.25, from: null, to: null };
const tracks = [
  { id: 1, label: 'person', firstSeen: 0, lastSeen: 4.9, frames: 50, maxScore: 0.9 },
  { id: 2, label: 'person', firstSeen: 1, lastSeen: 1.2, frames: 3, maxScore: 0.3 },
  { id: 3, label: 'cup', firstSeen: 5, lastSeen: 9.9, frames: 50, maxScore: 0.8 },
];

describe('track list', () => {
  test('the tracks shown follow the labels, the minimum score and the time range', () => {
    assert.deepEqual(
      visibleTracks(tracks, all).map((t) => t.id),
      [1, 2, 3],
    );
    assert.deepEqual(
      visibleTracks(tracks, { ...all, labels: ['cup'] }).map((t) => t.id),
      [3],
    );
    assert.deepEqual(
      visibleTracks(tracks, { ...all, minScore: 0.5 }).map((t) => t.id),
      [1, 3],
    );
    assert.deepEqual(
      visibleTracks(tracks, { ...all, from: 5, to: null }).map((t) => t.id),
      [3],
      'a track that ends before the range is left out',
    );
    assert.deepEqual(
      visibleTracks(tracks, { ...all, from: 1.1, to: 4 }).map((t) => t.id),
      [1, 2],
      'overlapping the range is enough',
    );
    assert.deepEqual(visibleTracks(tracks, { ...all, labels: [] }), []);
  });
  test('counts per label: most first; the summary’s counts win when given', () => {
    assert.deepEqual(labelCounts(tracks), [
      { label: 'person', count: 2 },
      { label: 'cup', count: 1 },
    ]);
    assert.deepEqual(
      labelCounts(
        tracks,
        new Map([
          ['cup', 4],
          ['person', 4],
          ['dog', 0],
        ]),
      ),
      [
        { label: 'cup', count: 4 },
        { label: 'person', count: 4 },
      ],
    );
    assert.deepEqual(labelCounts([], null), []);
  });
  test('"only this label" toggles between one label and every label', () => {
    assert.deepEqual(toggleOnlyLabel(null, 'cup'), ['cup']);
    assert.deepEqual(toggleOnlyLabel(['person', 'cup'], 'cup'), ['cup']);
    assert.equal(toggleOnlyLabel(['cup'], 'cup'), null);
    assert.deepEqual(toggleOnlyLabel(['cup'], 'person'), ['person']);
    assert.equal(isOnlyLabel(['cup'], 'cup'), true);
    assert.equal(isOnlyLabel(null, 'cup'), false);
  });
  test('names and spans people read', () => {
    assert.equal(trackName(tracks[0]), 'person #1');
    assert.equal(trackSpanText(tracks[0]), '0:00.0 – 0:04.9 · 50 frames');
    assert.equal(trackSpanText({ firstSeen: 2, lastSeen: 2, frames: 1 }), '0:02.0 – 0:02.0 · 1 frame');
  });
});

describe('the selected track on the picture and in the frames', () => {
  const box = { x1: 0, y1: 0, x2: 1, y2: 1 };
  const frames = [
    { detections: [{ label: 'person', score: 0.9, box, trackId: 1 }] },
    { detections: [{ label: 'person', score: 0.3, box, trackId: 2 }] },
    { detections: [] },
    {
      detections: [
        { label: 'person', score: 0.8, box, trackId: 1 },
        { label: 'cup', score: 0.5, box },
      ],
    },
  ];
  test('track ids: numbers only; old detections without one are null', () => {
    assert.equal(trackIdOf({ trackId: 7 }), 7);
    assert.equal(trackIdOf({ trackId: null }), null);
    assert.equal(trackIdOf({}), null);
    assert.equal(trackIdOf({ trackId: '7' }), null);
  });
  test('emphasis: none selected draws every box as always; else the track stands out, others dim', () => {
    assert.equal(emphasisOf(3, null), 'normal');
    assert.equal(emphasisOf(null, null), 'normal');
    assert.equal(emphasisOf(3, 3), 'selected');
    assert.equal(emphasisOf(4, 3), 'dimmed');
    assert.equal(emphasisOf(null, 3), 'dimmed');
  });
  test('captions carry the track id where there is one', () => {
    assert.equal(captionText({ label: 'person', score: 0.842, trackId: 7 } as never), 'person #7 84%');
    assert.equal(captionText({ label: 'cup', score: 0.5 }), 'cup 50%');
    assert.equal(captionText({ label: 'cup', score: 0.5, trackId: null } as never), 'cup 50%');
  });
  test('next / previous detection of the selected track', () => {
    assert.equal(frameHasTrack(frames[3], 1), true);
    assert.equal(frameHasTrack(frames[1], 2, 0.5), false, 'under the minimum score');
    assert.deepEqual([...trackPresence(frames, 1)], [1, 0, 0, 1]);
    const has = (j: number) => frameHasTrack(frames[j], 1, 0.25);
    assert.equal(seekWhere(frames.length, 0, 1, has), 3);
    assert.equal(seekWhere(frames.length, 3, -1, has), 0);
    assert.equal(seekWhere(frames.length, 3, 1, has), -1);
  });
  test('the jump control follows a label or a track', () => {
    assert.deepEqual(parseJump('label:dining table'), { kind: 'label', label: 'dining table' });
    assert.deepEqual(parseJump('track:12'), { kind: 'track', id: 12 });
    assert.equal(parseJump('track:x'), null);
    assert.equal(parseJump('label:'), null);
    assert.equal(parseJump(''), null);
  });
});

describe('exports of what is on screen', () => {
  const labels = ['person', 'cup', 'dog'];
  test('the request carries the filters; null when no label is shown', () => {
    assert.equal(exportPath('j 1', 'mot', all, labels), '/v1/jobs/j%201/export?format=mot&minScore=0.25');
    assert.equal(
      exportPath('j', 'csv', { labels: ['cup', 'person'], minScore: 0.4, from: 1, to: 4.5 }, labels),
      '/v1/jobs/j/export?format=csv&label=cup%2Cperson&minScore=0.4&from=1&to=4.5',
    );
    assert.equal(
      exportPath('j', 'coco', all, labels, 7),
      '/v1/jobs/j/export?format=coco&minScore=0.25&trackId=7',
    );
    assert.equal(exportPath('j', 'coco', { ...all, labels: [] }, labels), null);
  });
  test('names, order and file names', () => {
    assert.equal(exportName('cvat'), 'CVAT for video (XML)');
    assert.equal(exportName('labelme'), 'LABELME');
    assert.deepEqual(orderFormats(['csv', 'zeta', 'mot', 'coco', 'alpha', 'mot']), [
      'coco',
      'mot',
      'csv',
      'alpha',
      'zeta',
    ]);
    assert.equal(
      exportFileName('street.mp4', 'mot', 'attachment; filename="0c5e-41.txt"'),
      'street.txt',
      "the video's name with the server's ending",
    );
    assert.equal(
      exportFileName('street.mp4', 'coco', 'attachment; filename="j.coco.json"'),
      'street.coco.json',
    );
    assert.equal(exportFileName('street.mp4', 'yolo', null), 'street.yolo.zip');
    assert.equal(exportFileName('a/b.mp4', 'csv', 'attachment; filename="j.c\\s/v"'), 'a_b.csv');
    assert.equal(exportFileName('café.mp4', 'csv', "attachment; filename*=UTF-8''j.csv"), 'café.csv');
  });
});

describe('annotated video', () => {
  const labels = ['person', 'cup'];
  test('the render request: labels only when some are hidden, tracks when chosen', () => {
    assert.deepEqual(renderRequest(all, labels), { minScore: 0.25 });
    assert.deepEqual(renderRequest({ ...all, labels: ['cup'], minScore: 0.4 }, labels), {
      labels: ['cup'],
      minScore: 0.4,
    });
    assert.deepEqual(renderRequest({ ...all, labels: ['cup', 'person'] }, labels), { minScore: 0.25 });
    assert.deepEqual(renderRequest(all, labels, [3, 9]), { minScore: 0.25, tracks: [3, 9] });
    assert.equal(renderRequest({ ...all, labels: [] }, labels), null);
  });
  test('progress words and percent', () => {
    assert.equal(renderPercent({ status: 'running', progress: 42.7 }), 42);
    assert.equal(renderPercent({ status: 'running', progress: 100 }), 99, 'not 100 until there is a link');
    assert.equal(renderPercent({ status: 'completed', progress: 100, url: '/v1/media/x' }), 100);
    assert.equal(renderPercent({ status: 'queued' }), 0);
    assert.equal(renderLine({ status: 'queued', progress: 0 }), 'Queued: waiting for a worker…');
    assert.equal(renderLine({ status: 'running', progress: 50 }), 'Drawing the boxes… 50%');
    assert.equal(renderLine({ status: 'failed', error: null }), 'The annotated video could not be made.');
    assert.equal(
      renderLine({ status: 'failed', error: 'The video could not be read.' }),
      'The annotated video could not be made: The video could not be read.',
    );
    assert.equal(isRenderDone({ status: 'completed' }), false, 'done means a link to download');
  });
  test('polling stops when it is finished or after the limit', () => {
    assert.equal(keepPolling({ status: 'running' }, 0, 1000), true);
    assert.equal(keepPolling({ status: 'completed', url: '/x' }, 0, 1000), false);
    assert.equal(keepPolling({ status: 'failed' }, 0, 1000), false);
    assert.equal(keepPolling({ status: 'running' }, 0, RENDER_POLL_LIMIT_MS), false);
  });
});
