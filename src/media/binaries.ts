import { createRequire } from 'node:module';

/**
 * Where the ffmpeg and ffprobe programs are: the ones that ship with the project (npm packages), so
 * behaviour never depends on what happens to be on PATH; FFMPEG_PATH / FFPROBE_PATH (config) name
 * other programs explicitly.
 */
export interface MediaBinaries {
  ffmpeg: string;
  ffprobe: string;
}

export interface MediaPaths {
  ffmpegPath?: string | null;
  ffprobePath?: string | null;
}

const require = createRequire(import.meta.url);

function fromPackage(pkg: string): string | undefined {
  try {
    return (require(pkg) as { path: string }).path;
  } catch {
    return undefined;
  }
}

export function resolveMediaBinaries(paths: MediaPaths = {}): MediaBinaries {
  const ffmpeg = paths.ffmpegPath || fromPackage('@ffmpeg-installer/ffmpeg');
  const ffprobe = paths.ffprobePath || fromPackage('@ffprobe-installer/ffprobe');
  if (!ffmpeg || !ffprobe) {
    throw new Error(
      'ffmpeg/ffprobe not found: reinstall the npm dependencies, or set FFMPEG_PATH and FFPROBE_PATH.',
    );
  }
  return { ffmpeg, ffprobe };
}
