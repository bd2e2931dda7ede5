import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkSample, planChunks, sampleFrames } from '../../../src/media/chunks.js';
import {
  buildChunkDecodeArgs,
  formatMicros,
  planSeek,
  selectExpression,
} from '../../../src/media/decode-args.js';
import { ffmpegReason } from '../../../src/media/frames.js';
import { clockwiseRotation, displaySize, rotationFilters } from '../../../src/media/orientation.js';
import { PacketLineParser } from '../../../src/media/packets.js';

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

const scan = {
  // 25 fps in 1/12800: keyframes at frames 0, 25, 50 (1 s GOP), B-frames (dts 2 frames before pts)
  ticks: Array.from({ length: 75 }, (_, i) => i * 512),
  keyframes: [0, 25, 50],
  keyframeDts: [-1024, 25 * 512 - 1024, 50 * 512 - 1024],
  timeBase: [1, 12800] as [number, number],
};

test("planSeek: lands on the keyframe despite ffmpeg's 3/23 s shift, never past it", () => {
  assert.deepEqual(planSeek(scan, 0), { seekUs: null, minPtsSec: null });
  const s = planSeek(scan, 25);
  assert.equal(s.seekUs, 1_000_000 + 130_435);
  assert.equal(s.minPtsSec, (0.96 + 1) / 2);
  // next keyframe too close for the shift: seek to the keyframe itself
  const dense = { ...scan, keyframes: [0, 25, 28], keyframeDts: [0, 12800, 28 * 512] };
  assert.equal(planSeek(dense, 25).seekUs, 1_000_000);
  assert.equal(formatMicros(1_130_435), '1.130435');
  assert.equal(formatMicros(-5), '-0.000005');
});

test('buildChunkDecodeArgs: exact chunk, sampled frames selected before rotation and scaling', () => {
  const args = buildChunkDecodeArgs(
    scan,
    { startFrame: 25, frameCount: 25 },
    { file: 'in.mp4', filter: 'scale=512:512', threads: 2 },
  );
  assert.deepEqual(args, [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-threads',
    '2',
    '-noautorotate',
    '-noaccurate_seek',
    '-seek_timestamp',
    '1',
    '-ss',
    '1.130435',
    '-copyts',
    '-i',
    'in.mp4',
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-vf',
    "select='gte(t,0.980000000)',scale=512:512",
    '-vsync',
    'passthrough',
    '-frames:v',
    '25',
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    'pipe:1',
  ]);
  const first = buildChunkDecodeArgs(
    scan,
    { startFrame: 0, frameCount: 25 },
    {
      file: 'in.mp4',
      filter: 'scale=512:512',
      select: [0, 1, 2, 10, 20],
      rotation: 90,
    },
  );
  assert.ok(!first.includes('-ss'));
  assert.equal(
    first[first.indexOf('-vf') + 1],
    "select='between(n,0,2)+eq(n,10)+eq(n,20)',transpose=clock,scale=512:512",
  );
  assert.equal(first[first.indexOf('-frames:v') + 1], '5');
  assert.throws(
    () => buildChunkDecodeArgs(scan, { startFrame: 0, frameCount: 5 }, { file: 'x', filter: '', select: [] }),
    RangeError,
  );
  assert.throws(
    () =>
      buildChunkDecodeArgs(scan, { startFrame: 0, frameCount: 5 }, { file: 'x', filter: '', select: [5] }),
    RangeError,
  );
  assert.equal(selectExpression([3]), 'eq(n,3)');
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

test('ffmpegReason: last line, without codec prefixes or file paths', () => {
  assert.equal(
    ffmpegReason(
      '[h264 @ 0x55d0c1] error while decoding MB 3 4\n/data/storage/ab/cd.mp4: Invalid data found when processing input\nConversion failed!\n',
    ),
    'Invalid data found when processing input',
  );
  assert.equal(ffmpegReason(''), '');
});

test('frameJpegArgs: a crop goes before the scale, clamped to the picture by ffmpeg', async () => {
  const { frameJpegArgs, cropFilter } = await import('../../../src/media/frame-jpeg.js');
  assert.equal(
    cropFilter({ x: -3.2, y: 10.7, width: 100.2, height: 0.5 }),
    'crop=w=min(101\\,iw):h=min(2\\,ih):x=min(0\\,iw-ow):y=min(10\\,ih-oh)',
  );
  const args = frameJpegArgs('in.mp4', 1.5, 160, { x: 10, y: 20, width: 30, height: 40 });
  assert.equal(
    args[args.indexOf('-vf') + 1],
    'crop=w=min(30\\,iw):h=min(40\\,ih):x=min(10\\,iw-ow):y=min(20\\,ih-oh),scale=160:-2:flags=bilinear',
  );
  assert.equal(frameJpegArgs('in.mp4', 0, 160).at(-6), 'scale=160:-2:flags=bilinear');
  assert.throws(() => cropFilter({ x: Number.NaN, y: 0, width: 1, height: 1 }), RangeError);
});
