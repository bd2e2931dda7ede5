import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../../test/helpers/content.js';
import { makerFfmpeg } from '../../test/helpers/maker.js';
import { runProgram } from '../../test/helpers/run-program.js';
import { objectBox, type Scene, type SpriteName } from './scenes.js';

/**
 * Renders a scene to H.264 with ffmpeg: frames composed here (a textured background, then the
 * sprites back to front), piped to ffmpeg as raw RGB. Sprites are cut from the fixture photos and
 * scaled by ffmpeg once per object size.
 */

const CROPS: Record<SpriteName, { file: string; crop: string }> = {
  person: { file: 'astronaut.png', crop: '350:500:20:10' }, // the astronaut, head to waist
  cup: { file: 'coffee.png', crop: '255:300:165:15' }, // the cup and its handle
};

async function sprite(name: SpriteName, w: number, h: number, flip: boolean): Promise<Uint8Array> {
  const ffmpeg = makerFfmpeg();
  const { file, crop } = CROPS[name];
  const vf = `crop=${crop},scale=${w}:${h}${flip ? ',hflip' : ''}`;
  const r = await runProgram(ffmpeg, [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-i',
    join(FIXTURES, file),
    '-vf',
    vf,
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ]);
  if (r.code !== 0 || r.stdout.length !== w * h * 3) throw new Error(`sprite ${name}: ${r.stderr}`);
  return r.stdout;
}

/** A plaster-like wall: smooth bands and a fine deterministic grain, nothing a detector names. */
function background(W: number, H: number): Uint8Array {
  const bg = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = 150 + 25 * Math.sin(x / 41) * Math.cos(y / 57) + 10 * Math.sin((x + 2 * y) / 13);
      const grain = ((x * 73856093) ^ (y * 19349663)) % 17;
      const i = (y * W + x) * 3;
      bg[i] = Math.max(0, Math.min(255, v + grain - 8 + 12));
      bg[i + 1] = Math.max(0, Math.min(255, v + grain - 8));
      bg[i + 2] = Math.max(0, Math.min(255, v + grain - 8 - 15));
    }
  }
  return bg;
}

export async function renderScene(scene: Scene, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `scene-${scene.name}-${scene.width}x${scene.height}-${scene.fps}.mp4`);
  if (existsSync(out)) return out;
  const { width: W, height: H, fps } = scene;
  const sprites = new Map<number, Uint8Array>();
  for (const o of scene.objects) sprites.set(o.id, await sprite(o.sprite, o.w, o.h, !!o.flip));
  const bg = background(W, H);
  const tmp = `${out}.${process.pid}.tmp.mp4`;
  const ffmpeg = makerFfmpeg();
  const child = spawn(
    ffmpeg,
    [
      '-y',
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${W}x${H}`,
      '-r',
      String(fps),
      '-i',
      'pipe:0',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '20',
      '-g',
      String(fps),
      '-pix_fmt',
      'yuv420p',
      tmp,
    ],
    { stdio: ['pipe', 'ignore', 'inherit'] },
  );
  const byDepth = [...scene.objects].sort((a, b) => a.z - b.z); // back first
  const n = Math.round(scene.seconds * fps);
  for (let i = 0; i < n; i++) {
    const frame = Uint8Array.from(bg);
    for (const o of byDepth) {
      const b = objectBox(o, i / fps);
      if (!b) continue;
      const px = sprites.get(o.id) as Uint8Array;
      const ox = Math.round(b.x1);
      const oy = Math.round(b.y1);
      for (let y = 0; y < o.h; y++) {
        const fy = oy + y;
        if (fy < 0 || fy >= H) continue;
        const x0 = Math.max(0, -ox);
        const x1 = Math.min(o.w, W - ox);
        if (x1 <= x0) continue;
        frame.set(px.subarray((y * o.w + x0) * 3, (y * o.w + x1) * 3), (fy * W + ox + x0) * 3);
      }
    }
    if (!child.stdin.write(frame)) await once(child.stdin, 'drain');
  }
  child.stdin.end();
  const [code] = await once(child, 'close');
  if (code !== 0) throw new Error(`ffmpeg could not encode scene ${scene.name}`);
  renameSync(tmp, out);
  return out;
}
