import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * Where the ffmpeg and ffprobe programs are. A system ffmpeg on PATH wins (it is usually newer and
 * may have hardware decoders); otherwise the static binaries that the npm packages
 * @ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe ship are used, so a bare machine works.
 * FFMPEG_PATH / FFPROBE_PATH override both.
 */
export interface MediaBinaries {
  ffmpeg: string;
  ffprobe: string;
}

const require = createRequire(import.meta.url);

function onPath(name: string): string | undefined {
  try {
    execFileSync(name, ['-version'], { stdio: 'ignore', timeout: 5000 });
    return name;
  } catch {
    return undefined;
  }
}

function fromPackage(pkg: string): string | undefined {
  try {
    return (require(pkg) as { path: string }).path;
  } catch {
    return undefined;
  }
}

let cached: MediaBinaries | undefined;

export function resolveMediaBinaries(env: NodeJS.ProcessEnv = process.env): MediaBinaries {
  if (cached && !env.FFMPEG_PATH && !env.FFPROBE_PATH) return cached;
  const ffmpeg = env.FFMPEG_PATH || onPath('ffmpeg') || fromPackage('@ffmpeg-installer/ffmpeg');
  const ffprobe = env.FFPROBE_PATH || onPath('ffprobe') || fromPackage('@ffprobe-installer/ffprobe');
  if (!ffmpeg || !ffprobe) {
    throw new Error(
      'ffmpeg/ffprobe not found: install ffmpeg on PATH, set FFMPEG_PATH and FFPROBE_PATH, or reinstall the npm dependencies.',
    );
  }
  const found = { ffmpeg, ffprobe };
  if (!env.FFMPEG_PATH && !env.FFPROBE_PATH) cached = found;
  return found;
}
