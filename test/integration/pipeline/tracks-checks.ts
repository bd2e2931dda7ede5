import assert from 'node:assert/strict';
import { parseCsv, parseCvatTracks, readZip } from '../../helpers/formats.js';
import { call } from '../../helpers/http.js';
import type { ApiFrame } from './checks.js';

/**
 * The tracks, their thumbnails and the exports of a completed job, checked over real HTTP against
 * the job's own frames (shared by the standalone and the distributed pipeline tests).
 */

export interface ApiTrack {
  id: number;
  label: string;
  firstFrame: number;
  lastFrame: number;
  firstSeen: number;
  lastSeen: number;
  frames: number;
  maxScore: number;
  bestFrame: number;
  box: { x1: number; y1: number; x2: number; y2: number };
  thumbnailUrl: string;
}

export interface TrackedFrame {
  frameIndex: number;
  timestamp: number;
  detections: (ApiFrame['detections'][number] & { trackId: number | null })[];
}

/** Every track of the job through paging (`limit` a page). */
export async function allTracks(base: string, token: string, id: string, query = '', limit = 100) {
  const tracks: ApiTrack[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = `limit=${limit}${query ? `&${query}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r: { status: number; text: string; body: any } = await call(
      base,
      'GET',
      `/v1/jobs/${id}/tracks?${q}`,
      {
        token,
      },
    );
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.tracks.length <= limit);
    tracks.push(...r.body.tracks);
    cursor = r.body.nextCursor;
    pages += 1;
    assert.ok(pages < 10_000, 'paging does not end');
  } while (cursor);
  return { tracks, pages };
}

async function download(base: string, token: string, path: string) {
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body };
}

/** The track a frame set implies: what the tracks resource must say about each track id. */
function tracksOfFrames(frames: TrackedFrame[]) {
  const byId = new Map<number, { label: string; frames: number[]; best: number; bestFrame: number }>();
  for (const f of frames)
    for (const d of f.detections) {
      if (d.trackId === null) continue;
      const t = byId.get(d.trackId) ?? { label: d.label, frames: [], best: -1, bestFrame: -1 };
      t.frames.push(f.frameIndex);
      if (d.score > t.best) {
        t.best = d.score;
        t.bestFrame = f.frameIndex;
      }
      byId.set(d.trackId, t);
    }
  return byId;
}

/**
 * Checks a completed job's tracks against its frames (read with includeNoise=true), the noise
 * rule and the summary's object counts, paging and filters, thumbnails, every export format,
 * and that `other` (another user) gets 404 everywhere. Returns the tracks (minFrames=1).
 */
export async function checkTracks(
  base: string,
  token: string,
  job: any,
  frames: TrackedFrame[],
  other: string,
): Promise<ApiTrack[]> {
  const id = job.id;
  const minTrackFrames = job.options.minTrackFrames;
  assert.equal(typeof minTrackFrames, 'number');
  const { tracks: every } = await allTracks(base, token, id, 'minFrames=1');
  assert.ok(every.length > 0, 'the job has tracks');
  const implied = tracksOfFrames(frames);
  // every track id in the frames is a track, and the tracks' aggregates are their frames'
  assert.deepEqual(
    every.map((t) => t.id),
    [...implied.keys()].sort((a, b) => a - b),
  );
  for (const t of every) {
    const f = implied.get(t.id)!;
    assert.equal(t.label, f.label);
    assert.equal(t.frames, f.frames.length, `track ${t.id} frames`);
    assert.equal(t.firstFrame, f.frames[0]);
    assert.equal(t.lastFrame, f.frames[f.frames.length - 1]);
    assert.equal(t.maxScore, f.best);
    assert.equal(t.bestFrame, f.bestFrame);
  }
  // a detection's track has one label, and a track is in at most one detection per frame
  for (const fr of frames) {
    const ids = fr.detections.filter((d) => d.trackId !== null).map((d) => d.trackId);
    assert.equal(new Set(ids).size, ids.length, `frame ${fr.frameIndex}: a track twice`);
  }

  // the noise rule: default tracks are those with at least minTrackFrames frames
  const kept = every.filter((t) => t.frames >= minTrackFrames);
  const { tracks: byDefault } = await allTracks(base, token, id);
  assert.deepEqual(
    byDefault.map((t) => t.id),
    kept.map((t) => t.id),
  );
  // paging one at a time gives the same list
  const paged = await allTracks(base, token, id, 'minFrames=1', 1);
  assert.deepEqual(
    paged.tracks.map((t) => t.id),
    every.map((t) => t.id),
  );
  assert.equal(paged.pages, every.length);
  // label filter
  const label = every[0].label;
  const { tracks: ofLabel } = await allTracks(
    base,
    token,
    id,
    `minFrames=1&label=${encodeURIComponent(label)}`,
  );
  assert.deepEqual(
    ofLabel.map((t) => t.id),
    every.filter((t) => t.label === label).map((t) => t.id),
  );
  // the summary counts the kept tracks as objects
  assert.equal(job.summary.objects, kept.length);
  for (const l of job.summary.labels)
    assert.equal(l.objects, kept.filter((t) => t.label === l.label).length, `${l.label} objects`);

  // detections: noise left out by default, kept with includeNoise=true
  const keptIds = new Set(kept.map((t) => t.id));
  const def = await call(base, 'GET', `/v1/jobs/${id}/detections?limit=5000`, { token });
  assert.equal(def.status, 200, def.text);
  assert.equal(def.body.frames.length, frames.length, 'every analysed frame, even with nothing kept');
  assert.deepEqual(
    def.body.frames,
    frames.map((f) => ({
      ...f,
      detections: f.detections.filter((d) => d.trackId !== null && keptIds.has(d.trackId)),
    })),
  );
  // trackId filter: that track's frames, only its detections
  const longest = [...every].sort((a, b) => b.frames - a.frames)[0];
  const one = await call(base, 'GET', `/v1/jobs/${id}/detections?limit=5000&trackId=${longest.id}`, {
    token,
  });
  assert.equal(one.status, 200, one.text);
  assert.equal(one.body.frames.length, longest.frames);
  assert.ok(
    one.body.frames.every(
      (f: TrackedFrame) => f.detections.length === 1 && f.detections[0].trackId === longest.id,
    ),
  );

  // thumbnails: a JPEG by the signed link, no token; a tampered link is refused
  const thumb = await fetch(base + longest.thumbnailUrl);
  const jpeg = Buffer.from(await thumb.arrayBuffer());
  assert.equal(thumb.status, 200, jpeg.toString('utf8').slice(0, 300));
  assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
  assert.ok(
    jpeg.length > 100 && jpeg[0] === 0xff && jpeg[1] === 0xd8 && jpeg.at(-2) === 0xff && jpeg.at(-1) === 0xd9,
  );
  const otherTrack = every.find((t) => t.id !== longest.id);
  if (otherTrack) {
    // one track's signature does not open another track's thumbnail
    const forged = longest.thumbnailUrl.replace(`/tracks/${longest.id}/`, `/tracks/${otherTrack.id}/`);
    assert.equal((await fetch(base + forged)).status, 403);
  }

  // exports: each format parses, and holds what the detections say (noise left out)
  const detections = frames.flatMap((f) =>
    f.detections.filter((d) => d.trackId !== null && keptIds.has(d.trackId)).map((d) => ({ f, d })),
  );
  const exp = (format: string, q = '') => download(base, token, `/v1/jobs/${id}/export?format=${format}${q}`);
  const csv = await exp('csv');
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  assert.match(csv.headers.get('content-disposition') ?? '', /^attachment; filename="[^"]+\.csv"$/);
  const rows = parseCsv(csv.body.toString('utf8'));
  assert.deepEqual(rows[0], [
    'frame_index',
    'timestamp',
    'track_id',
    'label',
    'score',
    'x1',
    'y1',
    'x2',
    'y2',
  ]);
  assert.equal(rows.length - 1, detections.length);
  assert.deepEqual(
    rows.slice(1).map((r) => [Number(r[0]), Number(r[2]), r[3]]),
    detections.map(({ f, d }) => [f.frameIndex, d.trackId, d.label]),
  );

  const mot = await exp('mot');
  assert.equal(mot.status, 200);
  assert.match(mot.headers.get('content-type') ?? '', /^text\/plain/);
  const motLines = mot.body.toString('utf8').split('\n').filter(Boolean);
  assert.equal(motLines.length, detections.length);
  for (const line of motLines) {
    const v = line.split(',').map(Number);
    assert.equal(v.length, 10);
    assert.ok(v[0] >= 1 && keptIds.has(v[1]) && v[4] > 0 && v[5] > 0, line);
    assert.deepEqual(v.slice(7), [-1, -1, -1]);
  }

  const coco = await exp('coco');
  assert.equal(coco.status, 200);
  assert.match(coco.headers.get('content-type') ?? '', /^application\/json/);
  const c = JSON.parse(coco.body.toString('utf8'));
  assert.equal(c.images.length, frames.length);
  assert.equal(c.annotations.length, detections.length);
  const catIds = new Set(c.categories.map((x: any) => x.id));
  assert.ok(c.annotations.every((a: any) => catIds.has(a.category_id) && keptIds.has(a.attributes.track_id)));

  const cvat = await exp('cvat');
  assert.equal(cvat.status, 200);
  assert.match(cvat.headers.get('content-type') ?? '', /^application\/xml/);
  const cv = parseCvatTracks(cvat.body.toString('utf8'));
  assert.deepEqual(
    cv.map((t) => [t.id, t.label, t.boxes.filter((b) => b.outside === 0).length]),
    kept.map((t) => [t.id, t.label, t.frames]),
  );

  const yolo = await exp('yolo');
  assert.equal(yolo.status, 200);
  assert.equal(yolo.headers.get('content-type'), 'application/zip');
  const zip = readZip(new Uint8Array(yolo.body));
  const labelFiles = zip.files.filter((f) => f.name.startsWith('obj_train_data/'));
  assert.equal(labelFiles.length, frames.length);
  const yoloLines = labelFiles.flatMap((f) =>
    Buffer.from(f.data).toString('utf8').split('\n').filter(Boolean),
  );
  assert.equal(yoloLines.length, detections.length);
  assert.ok(zip.files.some((f) => f.name === 'obj.names'));

  // the same filters as the detections: one track, and noise kept on request
  const oneCsv = parseCsv((await exp('csv', `&trackId=${longest.id}`)).body.toString('utf8'));
  assert.equal(oneCsv.length - 1, longest.frames);
  const noisy = parseCsv((await exp('csv', '&includeNoise=true')).body.toString('utf8'));
  assert.equal(
    noisy.length - 1,
    frames.reduce((s, f) => s + f.detections.length, 0),
  );
  assert.equal((await exp('pdf')).status, 400);

  // another user: 404 for the tracks and the export
  for (const path of [`/v1/jobs/${id}/tracks`, `/v1/jobs/${id}/export?format=csv`]) {
    const r = await call(base, 'GET', path, { token: other });
    assert.equal(r.status, 404, `${path}: ${r.status}`);
    assert.equal(r.body.error.code, 'JOB_NOT_FOUND');
  }
  return every;
}
