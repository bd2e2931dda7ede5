/**
 * Issue 9 at the HTTP edge: what the media layer refuses before the 202 (415 for what is not an
 * accepted container, 422 for what is over a limit, checked on the real stream), and the pixel
 * cap of POST /v1/detect read from the image header before any decoding. The server keeps serving.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertError, call, registerAndLogin, upload } from '../../helpers/http.js';
import { makerFfmpeg } from '../../helpers/maker.js';
import { smallVideo } from '../../helpers/media.js';
import { runProgram } from '../../helpers/run-program.js';
import {
  createTestDatabase,
  recordingQueue,
  startServer,
  type TestDatabase,
  type TestServer,
} from '../../helpers/server.js';

let tdb: TestDatabase;
let srv: TestServer;
let token: string;
let dir: string;

async function make(name: string, args: string[]): Promise<string> {
  const out = join(dir, name);
  const r = await runProgram(makerFfmpeg(), ['-y', '-v', 'error', ...args, out], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  return out;
}

/** Rewrites the duration of every mvhd/mdhd/tkhd (version 0) box to say `seconds`. */
function lieAboutDuration(file: string, seconds: number): void {
  const b = readFileSync(file);
  for (const box of ['mvhd', 'mdhd']) {
    for (let i = b.indexOf(box); i >= 0; i = b.indexOf(box, i + 4)) {
      if (b[i + 4] !== 0) continue; // version 1: 64-bit fields, not made by this test
      const timescale = b.readUInt32BE(i + 16);
      b.writeUInt32BE(Math.round(timescale * seconds), i + 20);
    }
  }
  writeFileSync(file, b);
}

before(async () => {
  tdb = await createTestDatabase('pglite');
  dir = tdb.dataDir;
  srv = await startServer(
    tdb,
    {
      MAX_VIDEO_SECONDS: '5',
      MAX_VIDEO_FPS: '50',
      MAX_VIDEO_STREAMS: '2',
      MAX_VIDEO_PIXELS: String(640 * 480),
    },
    { queue: recordingQueue() },
  );
  token = (await registerAndLogin(srv.url)).accessToken;
});
after(async () => {
  await srv?.close();
  await tdb?.drop();
});

describe('uploads refused before the 202', () => {
  test('an HLS playlist named clip.mp4 pointing at a local file: 415, nothing read', async () => {
    const playlist = join(dir, 'clip.mp4');
    const target = await smallVideo(2);
    writeFileSync(
      playlist,
      `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile://${target}\n#EXT-X-ENDLIST\n`,
    );
    const res = await upload(srv.url, token, playlist, {}, { filename: 'clip.mp4' });
    assertError(res, 415, 'NOT_A_VIDEO');
    assert.equal(res.body.error.message, 'The file is a playlist, not a video; upload the video itself.');
    const loopback = join(dir, 'loop.mp4');
    writeFileSync(loopback, `#EXTM3U\n#EXTINF:2,\nhttp://127.0.0.1:${new URL(srv.url).port}/healthz\n`);
    assertError(await upload(srv.url, token, loopback), 415, 'NOT_A_VIDEO');
    const concat = join(dir, 'list.mp4');
    writeFileSync(concat, `ffconcat version 1.0\nfile '${target}'\n`);
    assertError(await upload(srv.url, token, concat), 415, 'NOT_A_VIDEO');
  });

  test('a header that says 2 s over a 10 s video: 422 by the last frame', async () => {
    const lying = await make('lying.mp4', [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x120:rate=10',
      '-t',
      '10',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
    ]);
    lieAboutDuration(lying, 2);
    const res = await upload(srv.url, token, lying);
    assertError(res, 422, 'VIDEO_TOO_LONG');
    assert.match(res.body.error.message, /lasts 10 seconds \(by its last frame\), longer than the 5 seconds/);
  });

  test('frames over MAX_VIDEO_PIXELS, a frame rate over MAX_VIDEO_FPS, too many streams: 422', async () => {
    const big = await make('big.mp4', [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=1280x720:rate=10',
      '-t',
      '1',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
    ]);
    const r1 = await upload(srv.url, token, big);
    assertError(r1, 422, 'VIDEO_TOO_LARGE');
    assert.match(r1.body.error.message, /1280x720 pixels, more than the 307200 pixels/);
    const fast = await make('fast.mp4', [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x120:rate=100',
      '-t',
      '1',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
    ]);
    assertError(await upload(srv.url, token, fast), 422, 'FRAME_RATE_TOO_HIGH');
    const streams = await make('streams.mkv', [
      ...['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-f', 'lavfi', '-i', 'sine'],
      ...[
        '-t',
        '1',
        '-map',
        '0',
        '-map',
        '1',
        '-map',
        '1',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-c:a',
        'flac',
      ],
    ]);
    assertError(await upload(srv.url, token, streams), 422, 'TOO_MANY_STREAMS');
    assert.equal((await call(srv.url, 'GET', '/healthz')).status, 200);
  });
});

describe('POST /v1/detect', () => {
  test('a PNG whose header says 16000x16000 is refused before decoding: 422', async () => {
    const png = Buffer.alloc(64);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(png);
    png.writeUInt32BE(13, 8);
    png.write('IHDR', 12, 'latin1');
    png.writeUInt32BE(16000, 16);
    png.writeUInt32BE(16000, 20);
    png.writeUInt8(8, 24);
    png.writeUInt8(2, 25);
    const form = new FormData();
    form.append('image', new Blob([png]), 'huge.png');
    const res = await call(srv.url, 'POST', '/v1/detect', { token, body: form });
    assertError(res, 422, 'IMAGE_TOO_LARGE');
    assert.match(res.body.error.message, /16000x16000 pixels, more than the 307200 pixels/);
  });
});
