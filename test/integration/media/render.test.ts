import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { labelColor } from '../../../src/api/label-colors.js';
import { clockwiseRotation } from '../../../src/media/orientation.js';
import { type OverlayFrame, RenderError, renderVideo } from '../../../src/media/render.js';
import { runProgram } from '../../../src/media/run.js';
import { makerFfmpeg, makerFfprobe } from '../../helpers/maker.js';

/**
 * src/media/render.ts on small files made by Debian's ffmpeg and checked by it: a rotated source
 * comes out upright with the box where it was drawn in displayed pixels, an odd size is padded to
 * even, audio MP4 cannot carry is transcoded to AAC, and what cannot be read fails with a sentence.
 */

let dir: string;
const file = (name: string) => join(dir, name);

async function ff(program: string, args: string[]) {
  const r = await runProgram(program, args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  return r;
}

async function streams(path: string) {
  const r = await ff(makerFfprobe(), [
    '-v',
    'error',
    '-count_frames',
    '-show_entries',
    'stream=codec_type,codec_name,width,height,nb_read_frames:stream_tags=rotate:stream_side_data=rotation',
    '-of',
    'json',
    path,
  ]);
  return (
    JSON.parse(r.stdout.toString()) as {
      streams: {
        codec_type: string;
        codec_name: string;
        width?: number;
        height?: number;
        nb_read_frames?: string;
        tags?: Record<string, string>;
        side_data_list?: { rotation?: number }[];
      }[];
    }
  ).streams;
}

async function rgbFrame(path: string, n: number, w: number, h: number): Promise<Buffer> {
  const r = await ff(makerFfmpeg(), [
    '-v',
    'error',
    '-i',
    path,
    '-vf',
    `select=eq(n\\,${n})`,
    '-frames:v',
    '1',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ]);
  assert.equal(r.stdout.length, w * h * 3);
  return r.stdout;
}

async function* onePage(frames: OverlayFrame[]) {
  yield frames;
}

const box = (x1: number, y1: number, x2: number, y2: number, label = 'person') => ({
  x1,
  y1,
  x2,
  y2,
  label,
  score: 0.9,
  trackId: 4,
});

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wd-render-media-'));
  // 320x240 grey, 10 frames, shown rotated by 90 degrees (displayed 240x320)
  await ff(makerFfmpeg(), [
    '-y',
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'color=c=gray:size=320x240:rate=10:duration=1',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    file('plain.mp4'),
  ]);
  await ff(makerFfmpeg(), [
    '-y',
    '-v',
    'error',
    '-i',
    file('plain.mp4'),
    '-c',
    'copy',
    '-metadata:s:v:0',
    'rotate=90',
    file('rotated.mp4'),
  ]);
  // odd size, PCM audio in Matroska (MP4 does not carry it)
  await ff(makerFfmpeg(), [
    '-y',
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'color=c=gray:size=320x240:rate=10:duration=1',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:duration=1',
    '-vf',
    'scale=161:121',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv444p',
    '-c:a',
    'pcm_s16le',
    '-shortest',
    file('odd.mkv'),
  ]);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('renderVideo', () => {
  test('a rotated source comes out upright, the box where it was drawn in displayed pixels', async () => {
    const [src] = await streams(file('rotated.mp4'));
    const rotation = clockwiseRotation(src);
    assert.ok(rotation === 90 || rotation === 270, `rotation ${rotation}`);
    const progress: number[] = [];
    const r = await renderVideo({
      input: file('rotated.mp4'),
      output: file('out/rotated.mp4'),
      rotation,
      frames: onePage([{ frameIndex: 0, boxes: [box(40, 100, 200, 300)] }]),
      onProgress: (n) => progress.push(n),
    });
    assert.deepEqual(r, { frames: 10, audio: false });
    const [v] = await streams(file('out/rotated.mp4'));
    assert.equal(v.codec_name, 'h264');
    assert.equal(v.width, 240);
    assert.equal(v.height, 320);
    assert.equal(Number(v.nb_read_frames), 10);
    assert.equal(v.tags?.rotate, undefined);
    assert.ok(!v.side_data_list?.some((s) => s.rotation), 'no display rotation: it is upright');
    // the left edge of the box at x = 40..42, y = 100..300 in the picture as shown
    const rgb = await rgbFrame(file('out/rotated.mp4'), 5, 240, 320);
    const at = (x: number, y: number) => [...rgb.subarray((y * 240 + x) * 3, (y * 240 + x) * 3 + 3)];
    const n = Number.parseInt(labelColor('person').slice(1), 16);
    const want = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    const edge = at(41, 200);
    assert.ok(
      edge.every((c, i) => Math.abs(c - want[i]) < 48),
      `edge ${edge} vs ${want}`,
    );
    const inside = at(120, 200);
    assert.ok(
      inside.every((c) => Math.abs(c - inside[0]) < 12),
      `inside stays grey: ${inside}`,
    );
  });

  test('an odd size is padded to even; PCM audio becomes AAC', async () => {
    const r = await renderVideo({
      input: file('odd.mkv'),
      output: file('out/odd.mp4'),
      rotation: 0,
      frames: onePage([]),
    });
    assert.equal(r.audio, true);
    const s = await streams(file('out/odd.mp4'));
    const v = s.find((x) => x.codec_type === 'video');
    assert.equal(v?.width, 162);
    assert.equal(v?.height, 122);
    assert.equal(Number(v?.nb_read_frames), 10);
    assert.equal(s.find((x) => x.codec_type === 'audio')?.codec_name, 'aac');
  });

  test('a file that is not a video fails with one sentence, no path, no partial output', async () => {
    writeFileSync(file('junk.mp4'), 'not a video at all');
    await assert.rejects(
      renderVideo({
        input: file('junk.mp4'),
        output: file('out/junk.mp4'),
        rotation: 0,
        frames: onePage([]),
      }),
      (e: Error) => {
        assert.ok(e instanceof RenderError);
        assert.match(e.message, /^The annotated video could not be made: .+\.$/);
        assert.ok(!e.message.includes(dir), e.message);
        return true;
      },
    );
    assert.equal(existsSync(file('out/junk.mp4')), false);
  });
});
