import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childNodeArgs, describeChildFailure, type MediaChildExit } from '../../../src/media/av/child.js';
import {
  containerRefusal,
  decodeRecordHeader,
  decoderMaxPixels,
  displayMatrixRotation,
  encodeRecordHeader,
  FRAME_TOO_LARGE,
  framePixelsRefusal,
  PtsMatcher,
  pinnedName,
  RecordKind,
  sniffRefusal,
} from '../../../src/media/av/protocol.js';
import { toolErrorLine } from '../../../src/media/av/run.js';
import { chunkSample, planChunks, sampleFrames } from '../../../src/media/chunks.js';
import { chunkDecodeRequest } from '../../../src/media/decode-plan.js';
import { frameJpegRequest } from '../../../src/media/frame-jpeg.js';
import { imageRefusal } from '../../../src/media/image.js';
import { readImageHeader } from '../../../src/media/image-header.js';
import { checkProbeLimits, checkScanLimits, withScan } from '../../../src/media/limits.js';
import { clockwiseRotation, displaySize, rotationFilters } from '../../../src/media/orientation.js';
import { PacketLineParser } from '../../../src/media/packets.js';
import { parseProbe, type ToolProbe } from '../../../src/media/probe.js';
import { DEFAULT_MEDIA_LIMITS } from '../../../src/media/settings.js';

function parse(lines: string[]) {
  const p = new PacketLineParser();
  for (const l of lines) p.push(l);
  return p.finish();
}

test('packet parser: presentation order, keyframes, missing pts/dts, discarded packets', () => {
  const s = parse([
    'packet,0,-2,K__',
    'packet,3,-1,___',
    'packet,1,0,___',
    'packet,2,1,___',
    'packet,N/A,4,K__', // no pts: dts used
    'packet,5,N/A,___',
    'packet,N/A,N/A,___', // neither: previous + step
    'packet,99,7,_D_', // discarded by an edit list: no frame
    'stream,1/4,side,data',
  ]);
  assert.deepEqual(s.timeBase, [1, 4]);
  assert.deepEqual(s.ticks, [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(s.timestamps, [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5]);
  assert.deepEqual(s.keyframes, [0, 4]);
  assert.deepEqual(s.keyframeDts, [-2, 4]);
  assert.equal(s.firstPtsSec, 0);
  const off = parse(['stream,1/1000', 'packet,1400,N/A,K__', 'packet,1440,1400,___']);
  assert.deepEqual(off.timestamps, [0, 0.04]);
  assert.equal(off.firstPtsSec, 1.4);
  assert.throws(() => parse(['stream,1/1000']), /no frames/);
});

test('planChunks: split only at keyframes, ~chunkSeconds, every frame exactly once', () => {
  const timestamps = Array.from({ length: 100 }, (_, i) => i / 10); // 10 fps, 10 s
  const keyframes = [0, 7, 15, 25, 26, 40, 55, 70, 95];
  const chunks = planChunks({ timestamps, keyframes }, { chunkSeconds: 2 });
  assert.deepEqual(
    chunks.map((c) => [c.startFrame, c.frameCount]),
    [
      [0, 25],
      [25, 15],
      [40, 15],
      [55, 15],
      [70, 25],
      [95, 5],
    ], // nearest keyframe to each 2 s target
  );
  const merged = planChunks({ timestamps, keyframes }, { chunkSeconds: 2, minTailFraction: 0.3 });
  assert.deepEqual(merged.map((c) => [c.startFrame, c.frameCount]).slice(-1), [[70, 30]]); // 0.5 s tail merged
  let next = 0;
  for (const [i, c] of chunks.entries()) {
    assert.equal(c.index, i);
    assert.equal(c.startFrame, next);
    assert.ok(c.startFrame === 0 || keyframes.includes(c.startFrame));
    assert.equal(c.startSec, timestamps[c.startFrame]);
    next += c.frameCount;
  }
  assert.equal(next, 100);
  assert.equal(chunks[0].endSec, 2.5);
  assert.equal(chunks[5].endSec, 10);
  assert.equal(chunks[4].endSec, 9.5);
  // no keyframe after 0: one chunk
  assert.equal(planChunks({ timestamps, keyframes: [0] }, { chunkSeconds: 1 }).length, 1);
  assert.deepEqual(planChunks({ timestamps: [], keyframes: [] }, { chunkSeconds: 1 }), []);
});

test('sampleFrames: first frame in each 1/fps slot, by time (VFR)', () => {
  const ts = [0, 0.1, 0.2, 0.45, 0.5, 0.55, 1.7, 1.72, 2.0];
  assert.deepEqual(sampleFrames(ts, null), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(sampleFrames(ts, 2), [0, 4, 6, 8]); // slots 0, 1, 3, 4 (slot 2 has no frame)
  assert.deepEqual(sampleFrames(ts, 100), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(chunkSample([0, 4, 6, 8], { startFrame: 3, frameCount: 4 }), [1, 3]);
  assert.deepEqual(chunkSample([0, 4, 6, 8], { startFrame: 1, frameCount: 2 }), []);
});

test('rotation: clockwise degrees, displayed size', () => {
  assert.equal(clockwiseRotation({ tags: { rotate: '90' } }), 90);
  assert.equal(clockwiseRotation({ side_data_list: [{ rotation: 90 }] }), 270); // display matrix is counter-clockwise
  assert.equal(clockwiseRotation({ side_data_list: [{ rotation: -90 }] }), 90);
  assert.equal(clockwiseRotation({ side_data_list: [{ rotation: 180 }] }), 180);
  assert.equal(clockwiseRotation({}), 0);
  assert.deepEqual(displaySize({ width: 1920, height: 1080, rotation: 90 }), { width: 1080, height: 1920 });
  assert.deepEqual(displaySize({ width: 1920, height: 1080, rotation: 180 }), { width: 1920, height: 1080 });
  assert.deepEqual(rotationFilters(270), ['transpose=cclock']);
  assert.deepEqual(rotationFilters(-90), ['transpose=cclock']);
});

test('containers: the allowlist, pinned by the first name; everything else refused with a sentence', () => {
  assert.equal(pinnedName('mov,mp4,m4a,3gp,3g2,mj2'), 'mov');
  for (const ok of ['mov,mp4,m4a,3gp,3g2,mj2', 'matroska,webm', 'avi', 'mpegts', 'mpeg', 'flv', 'mxf', 'ogg'])
    assert.equal(containerRefusal(ok), null, ok);
  assert.match(containerRefusal('hls') ?? '', /playlist/);
  assert.match(containerRefusal('dash') ?? '', /playlist/);
  assert.match(containerRefusal('concat') ?? '', /list of other files/);
  assert.match(containerRefusal('image2') ?? '', /still image/);
  assert.match(containerRefusal('png_pipe') ?? '', /still image/);
  assert.match(containerRefusal('sdp') ?? '', /stream elsewhere/);
  assert.match(containerRefusal('h264') ?? '', /^The h264 format is not accepted; upload MP4/);
  assert.match(containerRefusal(null) ?? '', /not a video/);
});

test('sniffRefusal: playlists, lists and manifests by their first bytes, whatever the name', () => {
  const t = (s: string) => sniffRefusal(Buffer.from(s));
  assert.match(t('#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n') ?? '', /playlist/);
  assert.match(t('\uFEFF#EXTM3U\nhttp://127.0.0.1/a.ts\n') ?? '', /playlist/);
  assert.match(t("ffconcat version 1.0\nfile '/etc/passwd'\n") ?? '', /list of other files/);
  assert.match(t("file '/tmp/a.mp4'\n") ?? '', /list of other files/);
  assert.match(t('<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash"></MPD>') ?? '', /manifest/);
  assert.match(t('v=0\no=- 0 0 IN IP4 127.0.0.1\nm=video 5004 RTP/AVP 96\n') ?? '', /stream elsewhere/);
  assert.equal(sniffRefusal(Buffer.from([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70])), null); // an MP4
});

test('displayMatrixRotation: as av_display_rotation_get (counter-clockwise degrees)', () => {
  const m = (a: number, b: number, c: number, d: number) => {
    const buf = Buffer.alloc(36);
    for (const [i, v] of [a, b, 0, c, d, 0, 0, 0, 1 << 30].entries()) buf.writeInt32LE(v, i * 4);
    return buf;
  };
  const one = 65536;
  assert.equal(displayMatrixRotation(m(one, 0, 0, one)), -0);
  assert.equal(displayMatrixRotation(m(0, one, -one, 0)), -90); // what rotate=270 writes (Debian's ffprobe: -90)
  assert.equal(displayMatrixRotation(m(0, -one, one, 0)), 90);
  assert.equal(Math.abs(displayMatrixRotation(m(-one, 0, 0, -one)) ?? 0), 180);
  assert.equal(displayMatrixRotation(Buffer.alloc(10)), null);
  assert.equal(displayMatrixRotation(Buffer.alloc(36)), null);
});

test('records and the pts matcher: each planned pts taken once, others dropped', () => {
  const h = decodeRecordHeader(encodeRecordHeader({ kind: RecordKind.frame, value: 7, pts: 123456789 }));
  assert.deepEqual(h, { kind: RecordKind.frame, value: 7, pts: 123456789 });
  assert.throws(() => decodeRecordHeader(Buffer.alloc(16)), /bad record kind/);
  const m = new PtsMatcher([10, 20, 20, 30]);
  assert.equal(m.take(5), -1); // before the chunk (a GOP decoded because the seek landed early)
  assert.equal(m.take(20), 1);
  assert.equal(m.take(20), 2);
  assert.equal(m.take(20), -1);
  assert.equal(m.take(10), 0);
  assert.equal(m.done, false);
  assert.equal(m.take(30), 3);
  assert.equal(m.done, true);
  assert.equal(m.last, 30);
});

test('chunkDecodeRequest: exact ticks from the plan, or from the times of an older plan', () => {
  const base = {
    file: '/v.mp4',
    format: 'mov',
    timeBase: '1/12800',
    startFrame: 25,
    startSec: 1,
    target: { width: 64, height: 48, resize: 'letterbox' as const },
    rotation: 90,
  };
  const exact = chunkDecodeRequest({
    ...base,
    sample: { timestamps: [1, 1.04], firstPtsSec: 0, ticks: [12800, 13312], seekTicks: 12288 },
  });
  assert.deepEqual(exact, {
    file: '/v.mp4',
    format: 'mov',
    seekTicks: 12288,
    frames: [12800, 13312],
    width: 64,
    height: 48,
    resize: 'letterbox',
    rotation: 90,
    threads: 1,
    maxPixels: DEFAULT_MEDIA_LIMITS.maxPixels,
  });
  assert.equal(
    chunkDecodeRequest({ ...base, maxPixels: 640 * 480, sample: { timestamps: [1], firstPtsSec: 0 } })
      .maxPixels,
    640 * 480,
  );
  const byTime = chunkDecodeRequest({ ...base, sample: { timestamps: [1, 1.04], firstPtsSec: 0.08 } });
  assert.deepEqual(byTime.frames, [13824, 14336]);
  assert.equal(byTime.seekTicks, 13824);
  assert.equal(
    chunkDecodeRequest({ ...base, startFrame: 0, sample: { timestamps: [0], firstPtsSec: 0 } }).seekTicks,
    null,
  );
  assert.throws(
    () => chunkDecodeRequest({ ...base, sample: { timestamps: [2, 1], firstPtsSec: 0 } }),
    RangeError,
  );
});

test('image headers: size read before decoding; over the pixel cap refused', () => {
  const png = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(png);
  png.writeUInt32BE(13, 8);
  png.write('IHDR', 12, 'latin1');
  png.writeUInt32BE(16000, 16);
  png.writeUInt32BE(16000, 20);
  assert.deepEqual(readImageHeader(png), { kind: 'png', width: 16000, height: 16000 });
  assert.match(
    imageRefusal(png, DEFAULT_MEDIA_LIMITS.maxPixels)?.message ?? '',
    /16000x16000 pixels, more than/,
  );
  // a baseline JPEG: SOI, an APP0, then SOF0 with height 576, width 768
  const jpg = Buffer.from([
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x02, 0x40, 0x03, 0x00,
    0x03,
  ]);
  assert.deepEqual(readImageHeader(jpg), { kind: 'jpeg', width: 768, height: 576 });
  const vp8x = Buffer.alloc(30);
  vp8x.write('RIFF', 0, 'latin1');
  vp8x.write('WEBPVP8X', 8, 'latin1');
  vp8x.writeUIntLE(1919, 24, 3);
  vp8x.writeUIntLE(1079, 27, 3);
  assert.deepEqual(readImageHeader(vp8x), { kind: 'webp', width: 1920, height: 1080 });
  assert.equal(readImageHeader(Buffer.from('GIF89a')), null);
  assert.equal(
    imageRefusal(Buffer.from('GIF89a'), 100)?.message,
    'The file is not a JPEG, PNG or WebP image.',
  );
});

const toolProbe = (
  over: Partial<NonNullable<ToolProbe['video']>> = {},
  top: Partial<ToolProbe> = {},
): ToolProbe => ({
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  pinnedFormat: 'mov',
  streams: 2,
  durationSec: 2,
  bitRate: 1000,
  hasAudio: true,
  video: {
    codec: 'h264',
    decodable: true,
    width: 1920,
    height: 1080,
    avgFps: 25,
    rFps: 25,
    timeBase: '1/12800',
    nbFrames: 50,
    pixFmt: 'yuv420p',
    rotationTag: null,
    displayRotation: -90,
    ...over,
  },
  ...top,
});

test('parseProbe and the limits: header limits at the probe, real ones from the scan', () => {
  const p = parseProbe(toolProbe(), 1234);
  assert.equal(p.pinnedFormat, 'mov');
  assert.equal(p.video.rotation, 90);
  assert.equal(p.sizeBytes, 1234);
  assert.throws(() => parseProbe(toolProbe({}, { video: null })), /no video stream/);
  assert.throws(
    () => parseProbe(toolProbe({ decodable: false, codec: 'xyz' })),
    /codec \(xyz\) is not supported/,
  );
  const L = DEFAULT_MEDIA_LIMITS;
  assert.equal(checkProbeLimits(p, L), null);
  assert.equal(
    checkProbeLimits(parseProbe(toolProbe({ width: 16000, height: 16000 })), L)?.code,
    'VIDEO_TOO_LARGE',
  );
  assert.equal(checkProbeLimits(parseProbe(toolProbe({ avgFps: 1000 })), L)?.code, 'FRAME_RATE_TOO_HIGH');
  assert.equal(checkProbeLimits(parseProbe(toolProbe({}, { streams: 1000 })), L)?.code, 'TOO_MANY_STREAMS');
  // a header that says 2 s, and 14,400 frames really at 25 fps: 576 s by the last frame
  const lying = { timestamps: Array.from({ length: 14_400 }, (_, i) => i / 25) };
  const r = checkScanLimits(lying, { ...L, maxSeconds: 60 });
  assert.equal(r?.code, 'VIDEO_TOO_LONG');
  assert.match(r?.message ?? '', /576 seconds \(by its last frame\)/);
  assert.equal(checkScanLimits(lying, { ...L, maxFrames: 1000 })?.code, 'TOO_MANY_FRAMES');
  assert.equal(checkScanLimits({ timestamps: [0, 0.001, 0.002] }, L)?.code, 'FRAME_RATE_TOO_HIGH');
  assert.equal(checkScanLimits({ timestamps: [0, 0, 0] }, L)?.code, 'FRAME_RATE_TOO_HIGH');
  assert.equal(checkScanLimits(lying, L), null);
  const scanned = withScan(p, lying);
  assert.ok(Math.abs(scanned.durationSec - 576) < 1e-9);
  assert.equal(scanned.video.frameCount, 14_400);
  assert.equal(scanned.scanned, true);
});

test('parseProbe: a header without a duration (MKV written to a pipe) is accepted; the scan gives it', () => {
  for (const durationSec of [null, undefined, 0, Number.NaN]) {
    const p = parseProbe(toolProbe({ nbFrames: 0 }, { durationSec }));
    assert.equal(p.durationSec, 0, String(durationSec));
    assert.equal(p.video.frameCountExact, false);
    assert.equal(p.video.frameCount, 1);
    const s = withScan(p, { timestamps: Array.from({ length: 20 }, (_, i) => i / 10) });
    assert.ok(Math.abs(s.durationSec - 2) < 1e-9, `${s.durationSec}`);
    assert.equal(s.video.frameCount, 20);
    assert.equal(s.scanned, true);
  }
  // one frame at 0 and no header duration: one frame's time at the stated rate (25 fps)
  const one = withScan(parseProbe(toolProbe({}, { durationSec: null })), { timestamps: [0] });
  assert.equal(one.durationSec, 1 / 25);
  // no frame rate is still refused
  assert.throws(() => parseProbe(toolProbe({ avgFps: 0, rFps: 0 }, { durationSec: null })), /no frame rate/);
});

test("child failures as one sentence; the tool's own sentence read from stderr", () => {
  const exit = (o: Partial<MediaChildExit>): MediaChildExit => ({
    code: null,
    signal: null,
    killed: null,
    stderrTail: '',
    peakRssMb: 0,
    spawnError: null,
    ...o,
  });
  assert.equal(
    describeChildFailure(exit({ signal: 'SIGSEGV' }), 'The video decoder', { atSec: 12.43 }),
    'The video decoder crashed (SIGSEGV) at 12.4 s.',
  );
  assert.equal(
    describeChildFailure(exit({ signal: 'SIGABRT' }), 'The video decoder'),
    'The video decoder crashed (SIGABRT).',
  );
  assert.equal(
    describeChildFailure(exit({ killed: 'memory', signal: 'SIGKILL' }), 'The video decoder', {
      maxRssMb: 2048,
    }),
    'The video decoder used more than 2048 MB of memory and was stopped.',
  );
  assert.equal(
    describeChildFailure(exit({ killed: 'timeout', signal: 'SIGKILL' }), 'The video probe', {
      timeoutMs: 30_000,
    }),
    'The video probe took longer than 30 s and was stopped.',
  );
  assert.equal(describeChildFailure(exit({ code: 0 }), 'x'), null);
  assert.deepEqual(toolErrorLine('noise\n@@error {"message":"The file is a playlist.","known":true}\n'), {
    message: 'The file is a playlist.',
    known: true,
    code: null,
  });
  assert.equal(toolErrorLine('Segmentation fault'), null);
  const args = childNodeArgs('/x/tool.ts', 512);
  assert.equal(args[0], '--max-old-space-size=512');
  assert.equal(args[1], '--import');
  assert.deepEqual(childNodeArgs('/x/tool.js', 10), ['--max-old-space-size=32', '/x/tool.js']);
});

test('frameJpegRequest: time, width and crop checked', () => {
  const r = frameJpegRequest('/v.mp4', {
    format: 'mov',
    timeSec: 1.25,
    width: 160,
    crop: { x: 1, y: 2, w: 30, h: 40 },
  });
  assert.deepEqual(r, {
    file: '/v.mp4',
    format: 'mov',
    timeSec: 1.25,
    width: 160,
    crop: { x: 1, y: 2, w: 30, h: 40 },
    rotation: 0,
  });
  assert.throws(() => frameJpegRequest('a', { format: 'mov', timeSec: -1, width: 160 }), RangeError);
  assert.throws(() => frameJpegRequest('a', { format: 'mov', timeSec: 0, width: 8 }), RangeError);
  assert.throws(() => frameJpegRequest('a', { format: 'mov', timeSec: 0, width: 641 }), RangeError);
  assert.throws(
    () => frameJpegRequest('a', { format: 'mov', timeSec: 0, width: 160, crop: { x: 0, y: 0, w: 1, h: 5 } }),
    RangeError,
  );
});

test('cropRegion: a box as whole pixels covering it, inside the frame, at least 2x2', async () => {
  const { cropRegion } = await import('../../../src/media/frame-jpeg.js');
  assert.deepEqual(cropRegion({ x: -3.2, y: 10.7, width: 100.2, height: 0.5 }), { x: 0, y: 10, w: 97, h: 2 });
  assert.deepEqual(cropRegion({ x: 10, y: 20, width: 30, height: 40 }), { x: 10, y: 20, w: 30, h: 40 });
  assert.deepEqual(cropRegion({ x: 10.5, y: 20.5, width: 30, height: 40 }), { x: 10, y: 20, w: 31, h: 41 });
  assert.throws(() => cropRegion({ x: Number.NaN, y: 0, width: 1, height: 1 }), RangeError);
});

test("decoderMaxPixels: the decoders' bound has room for FFmpeg's stride alignment", () => {
  const max = 7680 * 4320;
  // FFmpeg checks max_pixels on the width rounded up to its stride alignment (up to 64 columns)
  assert.ok(decoderMaxPixels(max) >= max + 63 * 16384);
  assert.ok(decoderMaxPixels(max) < max * 1.05);
  assert.ok(decoderMaxPixels(1) >= 1);
});

test('framePixelsRefusal: every decoded frame is checked exactly; the refusal code reaches the parent', () => {
  const max = 7680 * 4320;
  assert.equal(framePixelsRefusal(7680, 4320, max), null);
  assert.equal(framePixelsRefusal(64, 48, max, 0), null);
  assert.equal(framePixelsRefusal(0, 0, max), null, 'no size yet: nothing to refuse');
  assert.equal(
    framePixelsRefusal(16000, 16000, max, 1),
    "The video's frames change to 16000x16000 pixels at 1.0 s, more than the 33177600 pixels per frame this server accepts.",
  );
  assert.match(framePixelsRefusal(7681, 4320, max, null) ?? '', /change to 7681x4320 pixels, more than/);
  assert.match(framePixelsRefusal(16000, 16000, max, Number.NaN) ?? '', /pixels, more than/);
  // a refusal of the whole video (not a chunk to skip): the code comes with the tool's sentence
  const line = `noise\n@@error ${JSON.stringify({ message: 'x.', known: true, code: FRAME_TOO_LARGE })}\n`;
  assert.deepEqual(toolErrorLine(line), { message: 'x.', known: true, code: 'VIDEO_TOO_LARGE' });
  assert.equal(toolErrorLine('@@error {"message":"y.","known":true}')?.code, null);
});
