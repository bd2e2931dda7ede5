import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { planChunks } from '../../../src/media/chunks.js';
import { buildChunkDecodeArgs } from '../../../src/media/decode-args.js';
import { DecodeError, decodeChunkFrames } from '../../../src/media/frames.js';
import { ScanError, scanVideoFrames } from '../../../src/media/packets.js';
import { bins, type Fixtures, makeFixtures } from './fixtures.js';

const FILTER = 'scale=64:48';
const FRAME = 64 * 48 * 3;
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

async function drain(args: string[], expected: number, signal?: AbortSignal): Promise<number> {
  let n = 0;
  for await (const _ of decodeChunkFrames(bins.ffmpeg, args, FRAME, { expectedFrames: expected, signal }))
    n++;
  return n;
}

test('a truncated file gives a DecodeError with a readable sentence', async () => {
  const scan = await scanVideoFrames(bins.ffprobe, fx.bframesMkv);
  const chunks = planChunks(scan, { chunkSeconds: 10 });
  const bytes = readFileSync(fx.bframesMkv);
  const cut = join(fx.dir, 'cut.mkv');
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const args = buildChunkDecodeArgs(scan, chunks[0], { file: cut, filter: FILTER });
  await assert.rejects(drain(args, chunks[0].frameCount), (e: unknown) => {
    assert.ok(e instanceof DecodeError);
    assert.match(e.message, /^Video decoding failed: [^\n]+\.$/);
    assert.match(e.message, /of the 150 frames expected/);
    return true;
  });
});

test("a corrupted file (no index) gives a DecodeError naming ffmpeg's reason", async () => {
  const bytes = readFileSync(fx.cfr);
  const bad = join(fx.dir, 'bad.mp4');
  writeFileSync(bad, bytes.subarray(0, Math.floor(bytes.length / 2))); // mp4 keeps its index (moov) at the end
  await assert.rejects(scanVideoFrames(bins.ffprobe, bad), ScanError);
  const args = buildChunkDecodeArgs(
    { ticks: [0, 1], keyframes: [0], keyframeDts: [0], timeBase: [1, 25] },
    { startFrame: 0, frameCount: 2 },
    { file: bad, filter: FILTER },
  );
  await assert.rejects(drain(args, 2), (e: unknown) => {
    assert.ok(e instanceof DecodeError);
    assert.match(
      e.message,
      /^Video decoding failed: ffmpeg failed with exit code 1 after 0 frames \(Invalid data found when processing input\)\.$/,
    );
    assert.ok(!e.message.includes('\n'));
    return true;
  });
});

test('aborting kills ffmpeg; stopping early kills it too', async () => {
  const scan = await scanVideoFrames(bins.ffprobe, fx.cfr);
  const c = planChunks(scan, { chunkSeconds: 100 })[0];
  const args = buildChunkDecodeArgs(scan, c, { file: fx.cfr, filter: FILTER });
  const before = new Set(childPids());
  const ac = new AbortController();
  let n = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of decodeChunkFrames(bins.ffmpeg, args, FRAME, { signal: ac.signal })) {
        if (++n === 2) {
          const pids = childPids().filter((p) => !before.has(p));
          assert.equal(pids.length, 1, 'one ffmpeg running');
          ac.abort(new Error('job canceled'));
          await new Promise((r) => setTimeout(r, 200));
          assert.ok(!isAlive(pids[0]) || zombie(pids[0]), 'ffmpeg was killed on abort');
        }
      }
    })(),
    /job canceled/,
  );
  assert.equal(n, 2);
  // the consumer breaks out early: ffmpeg must not be left running
  for await (const _ of decodeChunkFrames(bins.ffmpeg, args, FRAME)) break;
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(
    childPids().filter((p) => !before.has(p) && !zombie(p)),
    [],
  );
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
