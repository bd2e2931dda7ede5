import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DecodeRequest, DecodeSummary } from '../../../src/media/av/protocol.js';
import { sampleFrames } from '../../../src/media/chunks.js';
import { chunkDecodeRequest } from '../../../src/media/decode-plan.js';
import { decodeChunkFrames } from '../../../src/media/frames.js';
import { displaySize } from '../../../src/media/orientation.js';
import { type FrameScan, scanVideoFrames } from '../../../src/media/packets.js';
import { probeVideo, type VideoProbe } from '../../../src/media/probe.js';
import { mediaSettings } from '../../../src/media/settings.js';
import { chunkPlans } from '../../../src/pipeline/tasks/process.js';
import { type Fixtures, frameTimes, makeFixtures, md5 } from './fixtures.js';

/**
 * The frame-exact promise on the shipped FFmpeg (node-av, in the media tool): decoding a video
 * chunk by chunk gives exactly the frames of one sequential decode, each once, in order, with the
 * scan's timestamps, which equal the decoded frame times of an independent FFmpeg (Debian's
 * ffprobe -show_frames).
 */
const W = 64;
const H = 48;
const target = { width: W, height: H, resize: 'stretch' as const };
const settings = mediaSettings();

let fx: Fixtures;
before(() => {
  fx = makeFixtures();
});
after(() => fx?.cleanup());

async function decodeAll(
  req: DecodeRequest,
): Promise<{ hashes: string[]; indices: number[]; summary: DecodeSummary }> {
  const hashes: string[] = [];
  const indices: number[] = [];
  const it = decodeChunkFrames(settings, req);
  for (;;) {
    const r = await it.next();
    if (r.done) return { hashes, indices, summary: r.value };
    hashes.push(md5(r.value.rgb));
    indices.push(r.value.index);
  }
}

async function open(file: string): Promise<{ probe: VideoProbe; scan: FrameScan }> {
  const probe = await probeVideo(settings, file);
  assert.ok(probe.pinnedFormat, 'the probe pins a format');
  return { probe, scan: await scanVideoFrames(settings, file, probe.pinnedFormat) };
}

/** Every frame, decoded in one pass from the start. */
async function fullDecode(file: string, probe: VideoProbe, scan: FrameScan): Promise<string[]> {
  const all = scan.timestamps.map((_, i) => i);
  const [plan] = chunkPlans(scan, all, 1e9);
  const { hashes, indices } = await decodeAll(
    chunkDecodeRequest({
      file,
      format: probe.pinnedFormat as string,
      timeBase: probe.video.timeBase,
      startFrame: 0,
      startSec: 0,
      sample: plan.sample,
      target,
      rotation: probe.video.rotation,
    }),
  );
  assert.deepEqual(indices, all, 'the full decode gives every frame once, in order');
  return hashes;
}

async function checkChunked(file: string, chunkSeconds: number, opts: { slack?: number } = {}) {
  const { probe, scan } = await open(file);
  // timestamps equal the decoded frame times of an independent FFmpeg (absolute = first + relative)
  const times = frameTimes(file);
  assert.equal(times.length, scan.timestamps.length, 'scan frame count equals the decoded frames');
  for (const [i, t] of times.entries()) {
    assert.ok(Math.abs(scan.firstPtsSec + scan.timestamps[i] - t) < 2e-6, `frame ${i}: ${t}`);
  }
  const full = await fullDecode(file, probe, scan);
  assert.equal(full.length, scan.timestamps.length);
  const all = scan.timestamps.map((_, i) => i);
  const plans = chunkPlans(scan, all, chunkSeconds);
  assert.ok(plans.length >= 3, `several chunks (${plans.length})`);
  const gop = Math.max(
    ...scan.keyframes.map((k, i) => (scan.keyframes[i + 1] ?? scan.timestamps.length) - k),
  );
  const got: string[] = [];
  for (const c of plans) {
    const spec = {
      file,
      format: probe.pinnedFormat as string,
      timeBase: probe.video.timeBase,
      startFrame: c.startFrame,
      startSec: c.startSec,
      target,
      rotation: probe.video.rotation,
    };
    const { hashes, indices, summary } = await decodeAll(chunkDecodeRequest({ ...spec, sample: c.sample }));
    assert.deepEqual(
      indices,
      c.sample.indices.map((_, k) => k),
      `chunk ${c.chunkIndex}: every planned frame, once, in order`,
    );
    got.push(...hashes);
    // a plan stored before ticks were kept (times only) gives the same frames
    const { ticks: _t, seekTicks: _s, ...byTime } = c.sample;
    assert.deepEqual(
      (await decodeAll(chunkDecodeRequest({ ...spec, sample: byTime }))).hashes,
      hashes,
      `chunk ${c.chunkIndex} by time`,
    );
    // no chunk decodes much before it: decoded frames stay within the chunk plus a GOP of slack
    if (!summary.sequential) {
      assert.ok(
        summary.decoded <= c.frameCount + (opts.slack ?? gop + 8),
        `chunk ${c.chunkIndex}: decoded ${summary.decoded} for ${c.frameCount} frames`,
      );
    }
  }
  assert.equal(got.length, full.length);
  for (let i = 0; i < full.length; i++)
    assert.equal(got[i], full[i], `frame ${i} differs from the full decode`);
  return { probe, scan };
}

describe('chunked decode equals one full decode (node-av)', () => {
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
    await checkChunked(fx.dense, 0.05);
  });
  test('variable frame rate (mkv)', async () => {
    const { scan } = await checkChunked(fx.vfrMkv, 0.5);
    const d = scan.timestamps.slice(1).map((t, i) => t - scan.timestamps[i]);
    assert.ok(Math.max(...d) > 3 * Math.min(...d), 'the fixture really is VFR');
  });
  test('variable frame rate (mp4 with a discarded packet)', async () => {
    await checkChunked(fx.vfrMp4, 0.5);
  });
  test('rotation: frames come out as displayed', async () => {
    const { probe } = await checkChunked(fx.rotated, 1);
    // rotate=270 as Debian's ffmpeg writes it is a display matrix of -90 degrees: shown turned 90 clockwise
    assert.equal(probe.video.rotation, 90);
    assert.deepEqual(displaySize(probe.video), { width: 120, height: 160 });
    // frame 0 of the rotated file is frame 0 of the plain one turned 90 degrees clockwise
    const keep = async (file: string, w: number, h: number, rotation: number) => {
      const { probe: p, scan } = await open(file);
      const [c] = chunkPlans(scan, [0], 100);
      const it = decodeChunkFrames(
        settings,
        chunkDecodeRequest({
          file,
          format: p.pinnedFormat as string,
          timeBase: p.video.timeBase,
          startFrame: 0,
          startSec: 0,
          sample: c.sample,
          target: { width: w, height: h, resize: 'stretch' },
          rotation,
        }),
      );
      const r = await it.next();
      await it.return(undefined as never);
      assert.ok(!r.done);
      return r.value.rgb;
    };
    const plain = await keep(fx.cfr, 160, 120, 0);
    const rot = await keep(fx.rotated, 120, 160, 90);
    let diff = 0;
    for (let y = 0; y < 160; y++) {
      for (let x = 0; x < 120; x++) {
        const o = (y * 120 + x) * 3;
        const i = ((119 - x) * 160 + y) * 3; // out(x, y) = in(y, H-1-x)
        diff +=
          Math.abs(rot[o] - plain[i]) +
          Math.abs(rot[o + 1] - plain[i + 1]) +
          Math.abs(rot[o + 2] - plain[i + 2]);
      }
    }
    assert.ok(diff / (120 * 160 * 3) < 2, `rotated pixels match (mean difference ${diff / (120 * 160 * 3)})`);
  });
});

describe('sampling', () => {
  test('fps=2 on the VFR file decodes exactly the sampled frames', async () => {
    const file = fx.vfrMkv;
    const { probe, scan } = await open(file);
    const sampled = sampleFrames(scan.timestamps, 2);
    const slots = sampled.map((i) => Math.floor(scan.timestamps[i] * 2 + 1e-9));
    assert.deepEqual(slots, [...new Set(slots)]);
    const full = await fullDecode(file, probe, scan);
    const got: string[] = [];
    for (const c of chunkPlans(scan, sampled, 1)) {
      if (c.sample.indices.length === 0) continue;
      const { hashes } = await decodeAll(
        chunkDecodeRequest({
          file,
          format: probe.pinnedFormat as string,
          timeBase: probe.video.timeBase,
          startFrame: c.startFrame,
          startSec: c.startSec,
          sample: c.sample,
          target,
          rotation: 0,
        }),
      );
      got.push(...hashes);
    }
    assert.deepEqual(
      got,
      sampled.map((i) => full[i]),
    );
  });
});
