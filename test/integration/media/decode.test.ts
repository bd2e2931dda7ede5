import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { chunkSample, planChunks, sampleFrames } from '../../../src/media/chunks.js';
import { buildChunkDecodeArgs, chunkDecodeArgs, chunkOutputFrames } from '../../../src/media/decode-args.js';
import { decodeChunkFrames } from '../../../src/media/frames.js';
import { displaySize } from '../../../src/media/orientation.js';
import { type FrameScan, scanVideoFrames } from '../../../src/media/packets.js';
import { probeVideo } from '../../../src/media/probe.js';
import { bins, type Fixtures, frameTimes, fullDecodeHashes, makeFixtures, md5 } from './fixtures.js';

const W = 64;
const H = 48;
const FILTER = `scale=${W}:${H}`;
const FRAME = W * H * 3;

let fx: Fixtures;
before(() => {
  fx = makeFixtures();
});
after(() => fx?.cleanup());

async function decodeAll(args: string[], expected: number, frameBytes = FRAME): Promise<string[]> {
  const hashes: string[] = [];
  for await (const f of decodeChunkFrames(bins.ffmpeg, args, frameBytes, { expectedFrames: expected }))
    hashes.push(md5(f));
  return hashes;
}

/** How many frames ffmpeg's decoder produced for these args (its -loglevel verbose summary). */
function framesDecoded(args: string[]): number {
  const a = args.map((x, i) => (args[i - 1] === '-loglevel' ? 'verbose' : x));
  const r = spawnSync(bins.ffmpeg, a, { maxBuffer: 256 * 1024 * 1024 });
  const m = /Input stream #0:0 \(video\): \d+ packets read \(\d+ bytes\); (\d+) frames decoded/.exec(
    r.stderr.toString(),
  );
  assert.ok(m, 'verbose summary not found');
  return Number(m[1]);
}

async function checkChunked(
  file: string,
  chunkSeconds: number,
  opts: { rotation?: number; slack?: number } = {},
) {
  const scan = await scanVideoFrames(bins.ffprobe, file);
  const full = fullDecodeHashes(file, FILTER, FRAME);
  assert.equal(scan.timestamps.length, full.length, 'scan frame count equals the full decode');
  // timestamps equal ffprobe's decoded best_effort_timestamp_time (absolute = first + relative)
  const times = frameTimes(file);
  assert.equal(times.length, scan.timestamps.length);
  for (const [i, t] of times.entries()) {
    assert.ok(Math.abs(scan.firstPtsSec + scan.timestamps[i] - t) < 2e-6, `frame ${i}: ${t}`);
  }
  const chunks = planChunks(scan, { chunkSeconds });
  assert.ok(chunks.length >= 3, `several chunks (${chunks.length})`);
  const got: string[] = [];
  const gop = Math.max(
    ...scan.keyframes.map((k, i) => (scan.keyframes[i + 1] ?? scan.timestamps.length) - k),
  );
  for (const c of chunks) {
    const args = buildChunkDecodeArgs(scan, c, { file, filter: FILTER, rotation: opts.rotation });
    const hashes = await decodeAll(args, c.frameCount);
    assert.equal(hashes.length, c.frameCount, `chunk ${c.index} frame count`);
    got.push(...hashes);
    // the time-based builder (for callers that stored only the chunk's times) gives the same frames
    const nextKf = scan.keyframes.find((k) => k > c.startFrame);
    const byTime = chunkDecodeArgs({
      file,
      startSec: c.startSec,
      frameCount: c.frameCount,
      scaleFilter: FILTER,
      rotation: opts.rotation,
      firstPtsSec: scan.firstPtsSec,
      nextKeyframeSec: nextKf === undefined ? null : scan.timestamps[nextKf],
    });
    assert.deepEqual(await decodeAll(byTime, c.frameCount), hashes, `chunk ${c.index} by time`);
    // no chunk decodes the GOP before it: decoded frames stay within the chunk plus decoder lookahead
    const decoded = framesDecoded(args);
    assert.ok(
      decoded < c.frameCount + (opts.slack ?? Math.min(gop, 8)),
      `chunk ${c.index}: decoded ${decoded} for ${c.frameCount} frames`,
    );
  }
  assert.equal(got.length, full.length);
  for (let i = 0; i < full.length; i++)
    assert.equal(got[i], full[i], `frame ${i} differs from the full decode`);
  return { scan, chunks };
}

describe('chunked decode equals one full decode', () => {
  test('constant fps, no B-frames', async () => {
    await checkChunked(fx.cfr, 1);
  });
  test('B-frames (mp4)', async () => {
    await checkChunked(fx.bframes, 1);
  });
  test('B-frames (mkv)', async () => {
    await checkChunked(fx.bframesMkv, 1);
  });
  test('open GOP', async () => {
    await checkChunked(fx.openGop, 0.5);
  });
  test('keyframes closer than 0.13 s', async () => {
    // here the seek cannot be shifted past ffmpeg's 0.13 s heuristic without reaching the next
    // keyframe: the chunk stays exact, at the cost of decoding up to 0.13 s + one GOP before it
    await checkChunked(fx.dense, 0.05, { slack: 8 });
  });
  test('variable frame rate (mkv)', async () => {
    const { scan } = await checkChunked(fx.vfrMkv, 0.5);
    const d = scan.timestamps.slice(1).map((t, i) => t - scan.timestamps[i]);
    assert.ok(Math.max(...d) > 3 * Math.min(...d), 'the fixture really is VFR');
  });
  test('variable frame rate (mp4 with a discarded packet)', async () => {
    await checkChunked(fx.vfrMp4, 0.5);
  });
  test('rotation: frames come out as displayed, like ffmpeg autorotate', async () => {
    const probe = await probeVideo(bins.ffprobe, fx.rotated);
    assert.ok(
      probe.video.rotation === 90 || probe.video.rotation === 270,
      `rotation ${probe.video.rotation}`,
    );
    assert.deepEqual(displaySize(probe.video), { width: 120, height: 160 });
    // same pixels as the full decode that uses ffmpeg's own autorotate
    await checkChunked(fx.rotated, 1, { rotation: probe.video.rotation });
    // and not what the unrotated file gives (i.e. rotation really happened): 120x160 kept as is
    const keep = 'scale=iw:ih';
    const scan = await scanVideoFrames(bins.ffprobe, fx.rotated);
    const c = planChunks(scan, { chunkSeconds: 10 })[0];
    const rot = await decodeAll(
      buildChunkDecodeArgs(
        scan,
        { ...c, frameCount: 1 },
        { file: fx.rotated, filter: keep, rotation: probe.video.rotation },
      ),
      1,
      120 * 160 * 3,
    );
    const plain = await decodeAll(
      buildChunkDecodeArgs(scan, { ...c, frameCount: 1 }, { file: fx.cfr, filter: keep }),
      1,
      120 * 160 * 3,
    );
    assert.notEqual(rot[0], plain[0]);
  });
});

describe('sampling', () => {
  test('fps=2 on the VFR file decodes exactly the sampled frames', async () => {
    const file = fx.vfrMkv;
    const scan: FrameScan = await scanVideoFrames(bins.ffprobe, file);
    const sampled = sampleFrames(scan.timestamps, 2);
    // one frame per half-second slot, the first in it
    const slots = sampled.map((i) => Math.floor(scan.timestamps[i] * 2 + 1e-9));
    assert.deepEqual(slots, [...new Set(slots)]);
    assert.equal(sampled.length, Math.floor(scan.timestamps[scan.timestamps.length - 1] * 2) + 1);
    const full = fullDecodeHashes(file, FILTER, FRAME);
    const got: string[] = [];
    const chunks = planChunks(scan, { chunkSeconds: 1 });
    for (const c of chunks) {
      const select = chunkSample(sampled, c);
      if (select.length === 0) continue;
      const args = buildChunkDecodeArgs(scan, c, { file, filter: FILTER, select });
      got.push(...(await decodeAll(args, chunkOutputFrames(c, select))));
    }
    assert.deepEqual(
      got,
      sampled.map((i) => full[i]),
    );
  });
});
