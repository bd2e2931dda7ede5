import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNoiseTrack, withoutNoise } from '../../../src/tracking/noise.js';

test('a track under minTrackFrames is noise; a detection with no track or a noise track is left out', () => {
  assert.equal(isNoiseTrack({ frames: 4 }, 5), true);
  assert.equal(isNoiseTrack({ frames: 5 }, 5), false);
  const frame = {
    frameIndex: 3,
    timestamp: 0.1,
    detections: [
      { label: 'person', score: 0.9, trackId: 1 },
      { label: 'person', score: 0.5, trackId: 2 },
      { label: 'dog', score: 0.6, trackId: null },
    ],
  };
  const kept = withoutNoise(frame, (id) => id === 1);
  assert.deepEqual(kept, { ...frame, detections: [frame.detections[0]] });
  assert.equal(frame.detections.length, 3, 'the input frame is not changed');
});
