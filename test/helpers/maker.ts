import { existsSync } from 'node:fs';

/**
 * The ffmpeg/ffprobe that tests and benchmarks use to MAKE media files (test videos, corpus
 * files, hostile files): Debian's, which `.ci/run` installs with apt-get. It is a separate,
 * independent build on purpose: the service under test never uses it (it decodes with the
 * FFmpeg that npm brings), so a file made here is read by a different implementation than the
 * one that wrote it. `TEST_FFMPEG` / `TEST_FFPROBE` name other programs.
 */
export function makerFfmpeg(): string {
  return find(process.env.TEST_FFMPEG, '/usr/bin/ffmpeg');
}

export function makerFfprobe(): string {
  return find(process.env.TEST_FFPROBE, '/usr/bin/ffprobe');
}

function find(explicit: string | undefined, fallback: string): string {
  const p = explicit || fallback;
  if (!existsSync(p)) {
    throw new Error(
      `${p} is missing: the tests make their media with Debian's ffmpeg (apt-get install ffmpeg; .ci/run does it), or set TEST_FFMPEG/TEST_FFPROBE.`,
    );
  }
  return p;
}
