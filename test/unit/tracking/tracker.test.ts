import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createTrackerState,
  type TrackedFrame,
  type TrackerState,
  type TrackInputFrame,
  type TrackSummary,
  trackAll,
  trackChunk,
} from '../../../src/tracking/tracker.js';
import { gaussian, seededRandom } from '../../helpers/random.js';

interface Det {
  label: string;
  score: number;
  box: { x1: number; y1: number; x2: number; y2: number };
}

const det = (label: string, cx: number, cy: number, w: number, h: number, score = 0.8): Det => ({
  label,
  score,
  box: { x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 },
});

/** Frames at `fps` whose detections come from `at(i, t)`. */
function frames(n: number, fps: number, at: (i: number, t: number) => Det[]): TrackInputFrame<Det>[] {
  return Array.from({ length: n }, (_, i) => ({
    frameIndex: i,
    timestamp: i / fps,
    detections: at(i, i / fps),
  }));
}

const idsOf = (out: TrackedFrame<Det>[], label?: string) =>
  out.map((f) => f.detections.filter((d) => !label || d.label === label).map((d) => d.trackId));

/** Runs the tracker chunk by chunk, the state going through JSON at every boundary. */
function runChunked(input: TrackInputFrame<Det>[], bounds: number[], options = {}) {
  let state: TrackerState<Det> = createTrackerState<Det>(options);
  const out: TrackedFrame<Det>[] = [];
  const tracks: TrackSummary[] = [];
  const cuts = [0, ...bounds, input.length];
  for (let c = 0; c + 1 < cuts.length; c++) {
    const r = trackChunk(state, input.slice(cuts[c], cuts[c + 1]), { final: c + 2 === cuts.length });
    out.push(...r.frames);
    tracks.push(...r.finished);
    state = JSON.parse(JSON.stringify(r.state));
  }
  return { frames: out, tracks: tracks.sort((a, b) => a.id - b.id) };
}

/** A busy random scene: objects of two labels on straight paths, score noise, misses, blips, jitter. */
function randomScene(seed: number, n = 80): TrackInputFrame<Det>[] {
  const rand = seededRandom(seed);
  const objs = Array.from({ length: 6 }, () => ({
    label: rand() < 0.6 ? 'person' : 'car',
    x: rand() * 600,
    y: rand() * 400,
    vx: (rand() - 0.5) * 300,
    vy: (rand() - 0.5) * 100,
    w: 30 + rand() * 60,
    h: 60 + rand() * 80,
    from: Math.floor(rand() * n * 0.5),
    to: Math.floor(n * 0.5 + rand() * n * 0.5),
  }));
  return frames(n, 25, (i, t) => {
    const ds: Det[] = [];
    for (const o of objs) {
      if (i < o.from || i > o.to || rand() < 0.1) continue; // missed now and then
      const score = rand() < 0.2 ? 0.1 + rand() * 0.15 : 0.3 + rand() * 0.6; // some weak frames
      ds.push(
        det(
          o.label,
          o.x + o.vx * t + gaussian(rand) * 2,
          o.y + o.vy * t + gaussian(rand) * 2,
          o.w,
          o.h,
          score,
        ),
      );
    }
    if (rand() < 0.3) ds.push(det('person', rand() * 640, rand() * 480, 40, 80, 0.3 + rand() * 0.3)); // a blip
    if (rand() < 0.3) ds.push(det('car', rand() * 640, rand() * 480, 60, 40, 0.1 + rand() * 0.1)); // weak noise
    return ds;
  });
}

describe('tracker', () => {
  it('follows one moving object with one id, giving its first (tentative) hits the id too', () => {
    const input = frames(20, 30, (_i, t) => [
      det('person', 100 + 120 * t, 200, 40, 90, 0.5 + (t === 0.5 ? 0.4 : 0)),
    ]);
    const { frames: out, tracks } = trackAll(input);
    assert.equal(out.length, 20);
    assert.deepEqual(
      idsOf(out),
      out.map(() => [1]),
    );
    assert.equal(tracks.length, 1);
    const t = tracks[0];
    assert.deepEqual(
      { ...t, box: undefined },
      {
        id: 1,
        label: 'person',
        firstFrame: 0,
        lastFrame: 19,
        firstSeen: 0,
        lastSeen: 19 / 30,
        frames: 20,
        maxScore: 0.9,
        bestFrame: 15,
        bestSeen: 0.5,
        box: undefined,
      },
    );
    assert.deepEqual(t.box, input[15].detections[0].box);
  });

  it('keeps identities when two objects of the same label cross paths', () => {
    const input = frames(60, 30, (_i, t) => [
      det('person', 100 + 200 * t, 200, 50, 100),
      det('person', 500 - 200 * t, 210, 50, 100),
    ]);
    const { frames: out, tracks } = trackAll(input);
    assert.equal(tracks.length, 2);
    // the detection that starts on the left keeps the left-starter's id all the way across
    const leftId = out[0].detections[0].trackId;
    for (const f of out) assert.equal(f.detections[0].trackId, leftId, `frame ${f.frameIndex}`);
    assert.notEqual(out[59].detections[1].trackId, leftId);
  });

  it('picks a lost object up again within maxLostSeconds, and not after', () => {
    // hidden for 0.5 s (frames 30..44), then for 1.5 s (frames 75..119)
    const visible = (i: number) => !(i >= 30 && i < 45) && !(i >= 75 && i < 120);
    const input = frames(150, 30, (i, t) => (visible(i) ? [det('car', 100 + 60 * t, 300, 80, 50, 0.7)] : []));
    const { frames: out, tracks } = trackAll(input, { maxLostSeconds: 1 });
    const ids = out.filter((f) => f.detections.length > 0).map((f) => f.detections[0].trackId);
    assert.ok(
      ids.slice(0, 60).every((id) => id === 1),
      'same id across the short gap',
    );
    assert.ok(
      ids.slice(60).every((id) => id === 2),
      'a new id after the long one',
    );
    assert.deepEqual(
      tracks.map((t) => [t.id, t.firstFrame, t.lastFrame, t.frames]),
      [
        [1, 0, 74, 60],
        [2, 120, 149, 30],
      ],
    );
  });

  it('finds a lost object where it was last seen when it stopped instead of going on along its path', () => {
    // moves right 90 px/s for 1 s, hidden 0.6 s, found again where it was last seen (it stopped)
    const input = frames(60, 30, (i, t) => {
      if (i < 30) return [det('person', 100 + 90 * t, 200, 50, 100)];
      if (i < 48) return [];
      return [det('person', 100 + 90 * (29 / 30), 200, 50, 100)];
    });
    const { tracks } = trackAll(input);
    assert.equal(tracks.length, 1, 'the prediction ran 54 px on, off the box; the last box still fits');
  });

  it('measures the lost buffer in seconds: the same gap is bridged at 10 fps and at 30 fps', () => {
    for (const fps of [10, 30]) {
      const input = frames(4 * fps, fps, (_i, t) =>
        t >= 1 && t < 1.8 ? [] : [det('car', 50 + 40 * t, 100, 60, 40)],
      );
      const { tracks } = trackAll(input, { maxLostSeconds: 1 });
      assert.equal(tracks.length, 1, `${fps} fps`);
    }
  });

  it('continues a track through weak detections (second stage), reporting them only when asked', () => {
    const input = frames(30, 30, (i, t) => {
      const weak = i >= 10 && i < 20;
      return [
        // weak for 10 frames (1/3 s): with maxLostSeconds 0.2 only the second stage keeps it alive
        det('person', 100 + 90 * t, 200, 40, 90, weak ? 0.15 : 0.7),
        det('person', 500, 400, 40, 90, 0.15), // weak and alone: never a track, never reported
      ];
    });
    const opts = { highScore: 0.4, lowScore: 0.1, maxLostSeconds: 0.2 };
    const plain = trackAll(input, opts);
    assert.equal(plain.tracks.length, 1, 'one track across the weak stretch');
    assert.equal(plain.tracks[0].frames, 20, 'its aggregates count what is reported');
    assert.deepEqual(idsOf(plain.frames), [
      ...Array(10).fill([1]),
      ...Array(10).fill([]),
      ...Array(10).fill([1]),
    ]);
    const withWeak = trackAll(input, { ...opts, reportLowScore: true });
    assert.equal(withWeak.tracks[0].frames, 30);
    for (const f of withWeak.frames) assert.deepEqual(idsOf([f])[0], [1]);
    assert.equal(withWeak.frames[15].detections[0].score, 0.15);
    // without the second stage (lowScore = highScore), the weak stretch ends the track
    assert.equal(trackAll(input, { ...opts, lowScore: 0.4 }).tracks.length, 2);
  });

  it('never confirms one-frame blips: they keep trackId null and are still reported', () => {
    const input = frames(10, 30, (i) => [det('dog', 50 * i, 50 * i, 30, 30, 0.6)]); // jumps far every frame
    const { frames: out, tracks } = trackAll(input);
    assert.equal(tracks.length, 0);
    assert.deepEqual(
      idsOf(out),
      out.map(() => [null]),
    );
  });

  it('confirms after confirmHits consecutive hits; a track seen fewer times gets no id', () => {
    const input = frames(6, 30, (i) => (i < 2 ? [det('cup', 100, 100, 30, 30)] : []));
    assert.deepEqual(idsOf(trackAll(input, { confirmHits: 3 }).frames).slice(0, 2), [[null], [null]]);
    assert.deepEqual(idsOf(trackAll(input, { confirmHits: 2 }).frames).slice(0, 2), [[1], [1]]);
  });

  it('is class-aware: a box of another label in the same place is another track', () => {
    const input = frames(20, 30, (_i, t) => [
      det('person', 100 + 30 * t, 100, 40, 80, 0.7),
      det('dog', 100 + 30 * t, 105, 40, 80, 0.5),
    ]);
    const { frames: out, tracks } = trackAll(input);
    // ids are given in order of confirmation; within a frame, labels in alphabetical order
    assert.deepEqual(
      tracks.map((t) => [t.id, t.label]),
      [
        [1, 'dog'],
        [2, 'person'],
      ],
    );
    for (const f of out) assert.deepEqual(idsOf([f])[0], [2, 1]);
  });

  it('holds back at most confirmHits - 1 frames between calls, and never mutates the state it is given', () => {
    const input = randomScene(3, 40);
    const s0 = createTrackerState<Det>({ confirmHits: 3 });
    const copy = JSON.stringify(s0);
    let state = s0;
    let released = 0;
    for (let i = 0; i < input.length; i++) {
      const r = trackChunk(state, [input[i]]);
      released += r.frames.length;
      assert.ok(i + 1 - released <= 2, `frame ${i}: ${i + 1 - released} waiting`);
      state = r.state;
    }
    assert.equal(JSON.stringify(s0), copy);
  });

  it('gives the same frames and tracks chunked (any boundary, 1-frame chunks, through JSON) as in one pass', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const input = randomScene(seed);
      const whole = trackAll(input);
      assert.ok(whole.tracks.length >= 3, `seed ${seed} has tracks to lose`);
      assert.ok(
        whole.tracks.some((t) => t.firstFrame < 40 && t.lastFrame > 40),
        `seed ${seed}: a track crosses the middle boundary`,
      );
      // every single boundary for two scenes; a few for the others (keeps the test quick)
      const cuts =
        seed <= 2 ? Array.from({ length: input.length - 1 }, (_, i) => i + 1) : [1, 39, 40, 41, 79];
      for (const cut of cuts) {
        assert.deepEqual(runChunked(input, [cut]), whole, `seed ${seed}, cut at ${cut}`);
      }
      const everyFrame = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
      assert.deepEqual(runChunked(input, everyFrame), whole, `seed ${seed}, one frame per chunk`);
      const rand = seededRandom(seed);
      const some = everyFrame.filter(() => rand() < 0.15);
      assert.deepEqual(runChunked(input, some), whole, `seed ${seed}, cuts ${some}`);
      // an empty chunk (a chunk with no analysed frame under fps sampling) changes nothing
      assert.deepEqual(runChunked(input, [20, 20, 50]), whole);
    }
  });

  it('refuses frames out of order, a state that has ended, and bad options', () => {
    const s = trackChunk(
      createTrackerState(),
      frames(3, 30, () => []),
    ).state;
    assert.throws(() => trackChunk(s, [{ frameIndex: 2, timestamp: 1, detections: [] }]), /must be in order/);
    const ended = trackChunk(s, [], { final: true }).state;
    assert.throws(() => trackChunk(ended, []), /already ended/);
    assert.throws(() => createTrackerState({ highScore: 0.2, lowScore: 0.3 }), /lowScore/);
    assert.throws(() => createTrackerState({ confirmHits: 0 }), /confirmHits/);
    assert.throws(() => createTrackerState({ matchIou: 2 }), /between 0 and 1/);
    assert.throws(() => createTrackerState({ maxLostSeconds: Number.NaN }), /seconds/);
  });
});
