/**
 * Tracking quality, measured (issue 11). Prints the markdown tables of BENCHMARKS.md "Tracking".
 *
 * 1. The tracker alone: ground-truth boxes of three synthetic scenes (bench/tracking/scenes.ts:
 *    crossing paths, an occlusion, an object leaving and coming back), exact and with detector-like
 *    noise, 5 seeds each: MOTA, IDF1, ID switches.
 * 2. Tracker + the real detector: the same scenes rendered to H.264 by ffmpeg and run through the
 *    default model (every frame, score floor 0.1), tracked at several minScore values.
 * 3. Real footage: OpenCV's vtest.avi (768x576, 10 fps, 795 frames of people walking): distinct
 *    person tracks against the most people in one frame, and precision/recall of what a job would
 *    report at each minScore / minTrackFrames, against people and vehicles annotated by hand in 20
 *    frames (bench/tracking/vtest-annotations.json).
 * Every tracker run is also repeated in 1-second chunks with the state saved as JSON between
 * them, and compared with the one-pass run (the CHUNK_SECONDS=1 requirement).
 *
 * Usage: flock /tmp/wd-bench.lock node --import tsx bench/tracking.ts [--no-detector] [--seeds 5]
 * Detections are cached under $TMPDIR/web-detector-bench-tracking (the detector is the slow part).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createModelRegistry } from '../src/inference/registry.js';
import type { Box } from '../src/inference/types.js';
import { combineScores, evaluateTracking, type TrackingScores } from '../src/tracking/metrics.js';
import { DEFAULT_MIN_TRACK_FRAMES } from '../src/tracking/noise.js';
import {
  createTrackerState,
  DEFAULT_TRACKER_OPTIONS,
  type TrackableDetection,
  type TrackedFrame,
  type TrackerOptions,
  type TrackInputFrame,
  type TrackSummary,
  trackAll,
  trackChunk,
} from '../src/tracking/tracker.js';
import { seededRandom } from '../test/helpers/random.js';
import { type DetectedFrame, detectVideo } from './tracking/detect.js';
import { NOISE_LEVELS, noisyDetections } from './tracking/noise.js';
import { renderScene } from './tracking/render.js';
import { evalFrames, groundTruth, SCENES } from './tracking/scenes.js';
import { loadAnnotations, type PrecisionRecall, precisionRecall } from './tracking/vtest.js';

const { values } = parseArgs({
  options: {
    'no-detector': { type: 'boolean', default: false },
    seeds: { type: 'string', default: '5' },
    video: { type: 'string', default: '/work/media-samples/vtest.avi' },
  },
});
const SEEDS = Number(values.seeds);
const CACHE = join(tmpdir(), 'web-detector-bench-tracking');

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const row = (cells: (string | number)[]) => console.log(`| ${cells.join(' | ')} |`);
const header = (cells: string[]) => {
  row(cells);
  row(cells.map((_, i) => (i === 0 ? '---' : '---:')));
};

interface Run<D extends TrackableDetection> {
  frames: TrackedFrame<D>[];
  tracks: TrackSummary[];
  /** frame index -> detections a job reports by default (tracked, track not noise) */
  reported: Map<number, TrackedFrame<D>['detections']>;
}

function track<D extends TrackableDetection>(
  input: TrackInputFrame<D>[],
  options: Partial<TrackerOptions>,
  minTrackFrames: number,
): Run<D> {
  const { frames, tracks } = trackAll(input, options);
  const kept = new Set(tracks.filter((t) => t.frames >= minTrackFrames).map((t) => t.id));
  const reported = new Map(
    frames.map((f) => [f.frameIndex, f.detections.filter((d) => d.trackId !== null && kept.has(d.trackId))]),
  );
  return { frames, tracks, reported };
}

/** The same input tracked in chunks of `seconds`, the state through JSON at each boundary. */
let chunkChecks = 0;
let chunkMismatches = 0;
function checkChunked<D extends TrackableDetection>(
  input: TrackInputFrame<D>[],
  options: Partial<TrackerOptions>,
  seconds = 1,
): void {
  const whole = trackAll(input, options);
  let state = createTrackerState<D>(options);
  const frames: TrackedFrame<D>[] = [];
  const tracks: TrackSummary[] = [];
  let k = 0;
  while (k < input.length) {
    const end = Math.floor(input[k].timestamp / seconds + 1) * seconds;
    let j = k;
    while (j < input.length && input[j].timestamp < end) j++;
    const r = trackChunk(state, input.slice(k, j), { final: j >= input.length });
    frames.push(...r.frames);
    tracks.push(...r.finished);
    state = JSON.parse(JSON.stringify(r.state));
    k = j;
  }
  tracks.sort((a, b) => a.id - b.id);
  chunkChecks += 1;
  if (JSON.stringify({ frames, tracks }) !== JSON.stringify(whole)) chunkMismatches += 1;
}

function sceneScores<D extends TrackableDetection>(
  gt: ReturnType<typeof groundTruth>,
  run: Run<D>,
  labels: string[],
): TrackingScores {
  return combineScores(labels.map((l) => evaluateTracking(evalFrames(gt, run.reported, l))));
}

function scoreCells(s: TrackingScores): string[] {
  return [
    pct(s.mota),
    pct(s.idf1),
    String(s.idSwitches),
    pct(s.precision),
    pct(s.recall),
    String(s.falsePositives),
    String(s.misses),
  ];
}
const SCORE_HEADER = ['MOTA', 'IDF1', 'ID switches', 'precision', 'recall', 'false pos.', 'misses'];

const LABELS = ['person', 'cup'];
const gts = new Map(SCENES.map((s) => [s.name, groundTruth(s)]));

// ---- 1. the tracker on ground-truth boxes -------------------------------------------------------
console.log(
  `\n### Tracker on ground-truth boxes (3 scenes x ${SEEDS} seeds, ${SCENES[0].seconds} s at ${SCENES[0].fps} fps each)\n`,
);
console.log(
  `Tracker defaults (minScore ${DEFAULT_TRACKER_OPTIONS.highScore}), minTrackFrames ${DEFAULT_MIN_TRACK_FRAMES}; "weak ones reported": \`reportLowScore\` (the weak detections, 0.1 to minScore, that continue a track are reported too). Scenes: ${SCENES.map((s) => `${s.name}: ${s.what}`).join('; ')}.\n`,
);
header([
  'boxes',
  'weak ones reported',
  ...SCORE_HEADER,
  'switches per scene (crossing / occlusion / leave-return)',
]);
for (const level of NOISE_LEVELS) {
  const exact = level.jitter === 0 && level.drop === 0;
  for (const reportLowScore of exact ? [false] : [false, true]) {
    const all: TrackingScores[] = [];
    const perScene = new Map<string, number>();
    for (let seed = 1; seed <= (exact ? 1 : SEEDS); seed++) {
      for (const scene of SCENES) {
        const gt = gts.get(scene.name) ?? [];
        const input = noisyDetections(gt, level, seededRandom(seed * 100 + scene.name.length), scene);
        const run = track(input, { reportLowScore }, DEFAULT_MIN_TRACK_FRAMES);
        checkChunked(input, { reportLowScore });
        const s = sceneScores(gt, run, LABELS);
        all.push(s);
        perScene.set(scene.name, (perScene.get(scene.name) ?? 0) + s.idSwitches);
      }
    }
    row([
      level.name,
      exact ? '' : reportLowScore ? 'yes' : 'no',
      ...scoreCells(combineScores(all)),
      SCENES.map((s) => perScene.get(s.name)).join(' / '),
    ]);
  }
}

// ---- 2. tracker + the real detector on the rendered scenes ---------------------------------------
const detector = values['no-detector']
  ? null
  : await (await createModelRegistry({ cacheDir: 'models/cache' })).get();
const FLOOR = 0.1;
if (detector) {
  console.log('\n### Tracker on the real detector (the scenes rendered to H.264, every frame detected)\n');
  const detected = new Map<string, DetectedFrame[]>();
  for (const scene of SCENES) {
    const file = await renderScene(scene, CACHE);
    const r = await detectVideo(detector, file, FLOOR, CACHE);
    detected.set(
      scene.name,
      // the job's `labels` option: only the labels of the ground truth
      r.frames.map((f) => ({ ...f, detections: f.detections.filter((d) => LABELS.includes(d.label)) })),
    );
    console.error(
      `${scene.name}: ${r.frames.length} frames, detector ${r.seconds.toFixed(1)} s${r.cached ? ' (cached)' : ''}`,
    );
  }
  header(['minScore', 'scene', ...SCORE_HEADER, 'tracks (objects)']);
  for (const minScore of [0.25, 0.3, 0.35, 0.4]) {
    const all: TrackingScores[] = [];
    for (const scene of SCENES) {
      const input = detected.get(scene.name) ?? [];
      const options = { highScore: minScore };
      const run = track(input, options, DEFAULT_MIN_TRACK_FRAMES);
      checkChunked(input, options);
      const s = sceneScores(gts.get(scene.name) ?? [], run, LABELS);
      all.push(s);
      const kept = run.tracks.filter((t) => t.frames >= DEFAULT_MIN_TRACK_FRAMES).length;
      row([minScore, scene.name, ...scoreCells(s), `${kept} (${scene.objects.length})`]);
    }
    row([minScore, '**all**', ...scoreCells(combineScores(all)), '']);
  }
}

// ---- 3. real footage: vtest.avi ------------------------------------------------------------------
if (detector) {
  const ann = loadAnnotations();
  const r = await detectVideo(detector, values.video as string, FLOOR, CACHE);
  const frames = r.frames;
  console.error(
    `vtest: ${frames.length} frames, detector ${r.seconds.toFixed(1)} s${r.cached ? ' (cached)' : ''}`,
  );
  const truth = ann.flatMap((f) => f.objects.filter((o) => !o.ignore));
  const mostPeople = Math.max(
    ...ann.map((f) => f.objects.filter((o) => o.label === 'person' && !o.ignore).length),
  );
  const pr = (reported: Parameters<typeof precisionRecall>[1]) => precisionRecall(ann, reported);
  const PR_HEADER = [
    'precision (all labels)',
    'precision (people, vehicles)',
    'recall',
    'people recall',
    'false detections / frame',
    'F1 (all labels)',
  ];
  const prCells = (p: PrecisionRecall) => [
    pct(p.precisionAll),
    pct(p.precision),
    pct(p.recall),
    pct(p.personRecall),
    p.falsePerFrame.toFixed(2),
    pct(p.f1),
  ];

  console.log(
    `\n### Real footage: vtest.avi (${frames.length} frames, 10 fps; ${ann.length} frames annotated by hand: ${truth.length} boxes, at most ${mostPeople} people in one frame)\n`,
  );
  console.log('Without the tracker (every detection at or above minScore, as jobs report today):\n');
  header(['minScore', ...PR_HEADER]);
  for (const minScore of [0.2, 0.25, 0.3, 0.35, 0.4, 0.5]) {
    row([minScore, ...prCells(pr((i) => frames[i].detections.filter((d) => d.score >= minScore)))]);
  }
  const trackedRow = (
    cells: (string | number)[],
    options: Partial<TrackerOptions>,
    minTrackFrames: number,
    keepTrack: (t: TrackSummary) => boolean = () => true,
  ) => {
    const run = track(frames, options, minTrackFrames);
    const kept = new Set(run.tracks.filter(keepTrack).map((t) => t.id));
    const p = pr((i) => (run.reported.get(i) ?? []).filter((d) => kept.has(d.trackId as number)));
    const people = run.tracks.filter(
      (t) => t.label === 'person' && t.frames >= minTrackFrames && kept.has(t.id),
    );
    let most = 0;
    for (const dets of run.reported.values())
      most = Math.max(most, dets.filter((d) => d.label === 'person' && kept.has(d.trackId as number)).length);
    row([...cells, ...prCells(p), people.length, most]);
  };
  const trackedHeader = ['person tracks', 'most people tracked in one frame'];
  console.log(
    `\nWith the tracker (defaults; what a job reports: detections at or above minScore in tracks of at least minTrackFrames frames; confirmHits ${DEFAULT_TRACKER_OPTIONS.confirmHits}, so 1 to ${DEFAULT_TRACKER_OPTIONS.confirmHits} are the same):\n`,
  );
  header(['minScore', 'minTrackFrames', ...PR_HEADER, ...trackedHeader]);
  for (const minScore of [0.25, 0.3, 0.35, 0.4]) {
    const options = { highScore: minScore };
    checkChunked(frames, options);
    for (const minTrackFrames of [1, 5, 10, 20])
      trackedRow([minScore, minTrackFrames], options, minTrackFrames);
  }
  console.log(
    `\nAlternatives (minTrackFrames ${DEFAULT_MIN_TRACK_FRAMES}): also reporting the weak detections (0.1 up to minScore) that continue a track (\`reportLowScore\`), or keeping only tracks whose best score reaches a second threshold (a read-time track filter, like minFrames):\n`,
  );
  header(['minScore', 'variant', ...PR_HEADER, ...trackedHeader]);
  for (const minScore of [0.3, 0.35]) {
    const options = { highScore: minScore };
    trackedRow(
      [minScore, 'weak detections reported'],
      { ...options, reportLowScore: true },
      DEFAULT_MIN_TRACK_FRAMES,
    );
    for (const best of [0.4, 0.45])
      trackedRow(
        [minScore, `track best score >= ${best}`],
        options,
        DEFAULT_MIN_TRACK_FRAMES,
        (t) => t.maxScore >= best,
      );
  }

  // the person tracks at the defaults: how many never move (static things the detector calls a person)
  const t0 = performance.now();
  const run = track(frames, {}, DEFAULT_MIN_TRACK_FRAMES);
  const trackMs = performance.now() - t0;
  const ends = new Map<number, { first: Box; last: Box }>();
  for (const f of run.frames) {
    for (const d of f.detections) {
      if (d.trackId === null || d.label !== 'person') continue;
      const e = ends.get(d.trackId);
      if (e) e.last = d.box;
      else ends.set(d.trackId, { first: d.box, last: d.box });
    }
  }
  const people = run.tracks.filter((t) => t.label === 'person' && t.frames >= DEFAULT_MIN_TRACK_FRAMES);
  const still = people.filter((t) => {
    const e = ends.get(t.id) as { first: Box; last: Box };
    const cx = (b: Box) => (b.x1 + b.x2) / 2;
    const cy = (b: Box) => (b.y1 + b.y2) / 2;
    return Math.hypot(cx(e.last) - cx(e.first), cy(e.last) - cy(e.first)) < (e.first.x2 - e.first.x1) / 2;
  });
  console.log(
    `\nAt the defaults (minScore ${DEFAULT_TRACKER_OPTIONS.highScore}, minTrackFrames ${DEFAULT_MIN_TRACK_FRAMES}): ${people.length} person tracks, of which ${still.length} never move more than half a box width (${still.map((t) => `#${t.id} ${t.frames} frames, best ${t.maxScore}`).join('; ')}); ${people.length - still.length} move. Tracking the ${frames.length} frames took ${trackMs.toFixed(0)} ms.`,
  );
}

console.log(
  `\nChunked (1 s chunks, state through JSON) against one pass: ${chunkChecks - chunkMismatches} of ${chunkChecks} runs identical.`,
);
if (detector) await detector.close();
