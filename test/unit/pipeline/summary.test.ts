import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countObjects, summarize, withObjectCounts } from '../../../src/pipeline/summary.js';

const f = (frameIndex: number, dets: [string, number][]) => ({
  frameIndex,
  timestamp: frameIndex / 10,
  detections: dets.map(([label, score]) => ({ label, score })),
});

describe('summarize', () => {
  it('counts frames per label once even with several boxes of that label in a frame', () => {
    const s = summarize([
      f(0, [
        ['cup', 0.4],
        ['cup', 0.6],
      ]),
      f(1, [['cup', 0.5]]),
    ]);
    assert.equal(s.labels.length, 1);
    assert.deepEqual(s.labels[0], {
      label: 'cup',
      frames: 2,
      maxScore: 0.6,
      firstSeen: 0,
      lastSeen: 0.1,
      segments: [{ start: 0, end: 0.1 }],
    });
    assert.equal(s.framesAnalysed, 2);
    assert.equal(s.framesWithDetections, 2);
  });

  it('bridges short gaps and splits segments at long ones', () => {
    const frames = [
      f(0, [['person', 0.9]]),
      f(1, []),
      f(2, [['person', 0.8]]), // gap of 1 frame: same segment
      f(3, []),
      f(4, []),
      f(5, []),
      f(6, [['person', 0.7]]), // gap of 3 frames: new segment
    ];
    const s = summarize(frames, 2);
    assert.deepEqual(s.labels[0].segments, [
      { start: 0, end: 0.2 },
      { start: 0.6, end: 0.6 },
    ]);
    assert.equal(s.labels[0].frames, 3);
    assert.equal(s.framesWithDetections, 3);
    assert.equal(s.framesAnalysed, 7);
  });

  it('orders labels by frames seen, then by name', () => {
    const s = summarize([
      f(0, [
        ['b', 0.3],
        ['a', 0.3],
      ]),
      f(1, [
        ['c', 0.3],
        ['a', 0.5],
      ]),
    ]);
    assert.deepEqual(
      s.labels.map((l) => l.label),
      ['a', 'b', 'c'],
    );
  });

  it('gives an empty summary for no frames', () => {
    assert.deepEqual(summarize([]), { framesAnalysed: 0, framesWithDetections: 0, labels: [] });
  });
});

describe('withObjectCounts', () => {
  it('adds distinct objects per label from tracks of at least minTrackFrames frames, keeping every field', () => {
    const base = summarize([
      f(0, [
        ['person', 0.9],
        ['dog', 0.4],
      ]),
      f(1, [['person', 0.8]]),
    ]);
    const tracks = [
      { label: 'person', frames: 12 },
      { label: 'person', frames: 5 },
      { label: 'person', frames: 2 }, // noise at minTrackFrames 5
      { label: 'dog', frames: 1 }, // noise
    ];
    const s = withObjectCounts(base, countObjects(tracks, 5));
    assert.equal(s.objects, 2);
    assert.deepEqual(
      s.labels.map((l) => [l.label, l.objects]),
      [
        ['person', 2],
        ['dog', 0],
      ],
    );
    // the summary it was given is all still there
    assert.deepEqual(
      s.labels.map(({ objects: _, ...rest }) => rest),
      base.labels,
    );
    assert.equal(s.framesAnalysed, base.framesAnalysed);
    assert.equal(s.framesWithDetections, base.framesWithDetections);
    assert.equal(withObjectCounts(base, countObjects(tracks, 1)).objects, 4);
  });
});
