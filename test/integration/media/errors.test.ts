import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chunkDecodeRequest } from '../../../src/media/decode-plan.js';
import { DecodeError, decodeChunkFrames } from '../../../src/media/frames.js';
import { ScanError, scanVideoFrames } from '../../../src/media/packets.js';
import { ProbeError, probeVideo } from '../../../src/media/probe.js';
import { type MediaSettings, mediaSettings } from '../../../src/media/settings.js';
import { chunkPlans } from '../../../src/pipeline/tasks/process.js';
import { bins, type Fixtures, frameTimes, makeFixtures, run } from './fixtures.js';

const settings = mediaSettings();
const target = { width: 64, height: 48, resize: 'stretch' as const };
let fx: Fixtures;
before(() => {
  fx = makeFixtures();
});
after(() => fx?.cleanup());

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The decode request for frames [from, to) of a probed and scanned file, in chunks of `seconds`. */
async function plans(file: string, seconds = 1e9) {
  const probe = await probeVideo(settings, file);
  const scan = await scanVideoFrames(settings, file, probe.pinnedFormat as string);
  const all = scan.timestamps.map((_, i) => i);
  const reqs = chunkPlans(scan, all, seconds).map((c) =>
    chunkDecodeRequest({
      file,
      format: probe.pinnedFormat as string,
      timeBase: probe.video.timeBase,
      startFrame: c.startFrame,
      startSec: c.startSec,
      sample: c.sample,
      target,
      rotation: probe.video.rotation,
    }),
  );
  return { probe, scan, reqs };
}

async function count(s: MediaSettings, req: Parameters<typeof decodeChunkFrames>[1], signal?: AbortSignal) {
  let n = 0;
  for await (const _ of decodeChunkFrames(s, req, { signal })) n++;
  return n;
}

describe('real files that failed before', () => {
  // "ffmpeg produced 44 of the 45 frames expected" (OpenCV's vtest.avi) and "24 of 25" (Cinepak)
  for (const [name, codec] of [
    ['MS-MPEG4v3 (DIV3) AVI', ['-c:v', 'msmpeg4v3', '-vtag', 'DIV3', '-s', '768x576', '-r', '10']],
    ['Cinepak AVI', ['-c:v', 'cinepak', '-r', '25']],
    ['MPEG-2 in MPEG-TS', ['-c:v', 'mpeg2video', '-f', 'mpegts']],
    ['H.264 in MPEG-TS', ['-c:v', 'libx264', '-bf', '2', '-g', '12', '-f', 'mpegts']],
  ] as const) {
    test(`${name}: every frame decodes, chunk by chunk, with the decoded frame times`, async () => {
      const ext = (codec as readonly string[]).includes('mpegts') ? 'ts' : 'avi';
      const file = join(fx.dir, `${name.replace(/\W+/g, '_')}.${ext}`);
      run(bins.ffmpeg, [
        '-y',
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x240:rate=25:duration=4',
        ...codec,
        file,
      ]);
      const { probe, scan, reqs } = await plans(file, 1);
      assert.match(probe.pinnedFormat ?? '', /^(avi|mpegts)$/);
      const times = frameTimes(file);
      assert.equal(
        scan.timestamps.length,
        times.length,
        'the scan lists the frames an independent FFmpeg decodes',
      );
      let n = 0;
      for (const r of reqs) n += await count(settings, r);
      assert.equal(n, scan.timestamps.length, 'every frame decoded once');
    });
  }
});

describe('broken and hostile files: a sentence, never a crash', () => {
  test('a file truncated half-way keeps what decodes (no error, fewer frames)', async () => {
    const { reqs } = await plans(fx.bframesMkv);
    const bytes = readFileSync(fx.bframesMkv);
    const cut = join(fx.dir, 'cut.mkv');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const n = await count(settings, { ...reqs[0], file: cut });
    assert.ok(n > 10 && n < reqs[0].frames.length, `${n} of ${reqs[0].frames.length} frames`);
  });

  test('an MP4 cut before its index is refused by the probe with a sentence', async () => {
    const bytes = readFileSync(fx.cfr);
    const bad = join(fx.dir, 'bad.mp4');
    writeFileSync(bad, bytes.subarray(0, Math.floor(bytes.length / 2))); // moov is at the end
    await assert.rejects(probeVideo(settings, bad), (e: unknown) => {
      assert.ok(e instanceof ProbeError);
      assert.equal(e.message, 'The file is not a video that can be read.');
      return true;
    });
    await assert.rejects(scanVideoFrames(settings, bad, 'mov'), ScanError);
  });

  test('playlists, lists and images are refused; what they point at is never opened', async () => {
    const hls = join(fx.dir, 'clip.mp4');
    writeFileSync(hls, `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://${fx.cfr}\n#EXT-X-ENDLIST\n`);
    await assert.rejects(
      probeVideo(settings, hls),
      /^ProbeError: The file is a playlist, not a video; upload the video itself\.$/,
    );
    const loop = join(fx.dir, 'loop.mp4');
    writeFileSync(loop, '#EXTM3U\n#EXTINF:10,\nhttp://127.0.0.1:9/a.ts\n');
    await assert.rejects(probeVideo(settings, loop), /playlist/);
    const concat = join(fx.dir, 'list.mp4');
    writeFileSync(concat, `ffconcat version 1.0\nfile '${fx.cfr}'\n`);
    await assert.rejects(probeVideo(settings, concat), /list of other files/);
    const png = join(fx.dir, 'still.mp4');
    run(bins.ffmpeg, [
      '-y',
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=64x48',
      '-frames:v',
      '1',
      '-f',
      'image2',
      '-c:v',
      'png',
      png,
    ]);
    await assert.rejects(probeVideo(settings, png), /still image/);
    // even opened with a pinned format by a later step, a playlist is not read as one
    await assert.rejects(scanVideoFrames(settings, hls, 'mov'), ScanError);
    await assert.rejects(scanVideoFrames(settings, hls, 'hls'), ScanError);
  });

  test('a decoder over its memory bound or time limit is stopped with a sentence', async () => {
    const { reqs } = await plans(fx.cfr);
    await assert.rejects(count(mediaSettings({ maxRssMb: 24 }), reqs[0]), (e: unknown) => {
      assert.ok(e instanceof DecodeError, String(e));
      assert.match(
        e.message,
        /^The video decoder used more than 24 MB of memory and was stopped( at [\d.]+ s)?\.$/,
      );
      assert.ok(e.crashed);
      return true;
    });
    await assert.rejects(count(mediaSettings({ decodeTimeoutMs: 1 }), reqs[0]), (e: unknown) => {
      assert.ok(e instanceof DecodeError);
      assert.match(e.message, /^The video decoder took longer than [\d.]+ s and was stopped/);
      return true;
    });
  });

  test('aborting kills the decoder; stopping early kills it too', async () => {
    const { reqs } = await plans(fx.cfr);
    const before = new Set(childPids());
    const ac = new AbortController();
    let n = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of decodeChunkFrames(settings, reqs[0], { signal: ac.signal })) {
          if (++n === 2) {
            const pids = childPids().filter((p) => !before.has(p));
            assert.equal(pids.length, 1, 'one media tool running');
            ac.abort(new Error('job canceled'));
            await new Promise((r) => setTimeout(r, 200));
            assert.ok(!isAlive(pids[0]) || zombie(pids[0]), 'the tool was killed on abort');
          }
        }
      })(),
      /job canceled/,
    );
    assert.equal(n, 2);
    for await (const _ of decodeChunkFrames(settings, reqs[0])) break;
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      childPids().filter((p) => !before.has(p) && !zombie(p)),
      [],
    );
  });
});

function childPids(): number[] {
  const out = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim();
  return out ? out.split(/\s+/).map(Number) : [];
}
function zombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
