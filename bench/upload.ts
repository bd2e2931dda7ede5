/**
 * A ~1 GiB upload to POST /v1/jobs, server as a child process: throughput and the server's peak
 * RSS growth (VmRSS sampled from /proc every 50 ms). The upload is streamed to disk while hashed,
 * so memory should stay flat (target: under 64 MiB growth).
 * Usage: node --import tsx bench/upload.ts [pglite|postgres]
 */
import { existsSync, openAsBlob, readFileSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makerFfmpeg } from '../test/helpers/maker.js';
import { runProgram } from '../test/helpers/run-program.js';
import { registerAndLogin, startChildServer } from './api-common.js';

const kind = (process.argv[2] ?? 'pglite') as 'pglite' | 'postgres';
const file = join(tmpdir(), 'web-detector-bench-1g.nut');

if (!existsSync(file)) {
  console.error('making a ~1 GiB raw video (1920x1080 yuv420p, 11 s at 30 fps)...');
  const ffmpeg = makerFfmpeg();
  const tmp = `${file}.tmp.nut`;
  const res = await runProgram(
    ffmpeg,
    [
      '-y',
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=1920x1080:rate=30',
      '-t',
      '11',
      '-c:v',
      'rawvideo',
      '-pix_fmt',
      'yuv420p',
      tmp,
    ],
    { timeoutMs: 600_000 },
  );
  if (res.code !== 0) throw new Error(res.stderr);
  renameSync(tmp, file);
}
const size = statSync(file).size;

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

const srv = await startChildServer(kind, { MAX_UPLOAD_BYTES: String(2 * 1024 ** 3) });
try {
  const token = await registerAndLogin(srv.url);
  // settle, then take the baseline
  await new Promise((r) => setTimeout(r, 1000));
  const baseline = rssKiB(srv.pid);
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKiB(srv.pid));
  }, 50);
  const form = new FormData();
  form.append('fps', '1');
  form.append('video', await openAsBlob(file), 'big.nut');
  const t0 = performance.now();
  const res = await fetch(`${srv.url}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  const text = await res.text();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, rssKiB(srv.pid));
  if (res.status !== 202) throw new Error(`upload: ${res.status} ${text}`);
  const job = JSON.parse(text).job;
  if (job.video.sizeBytes !== size) throw new Error(`stored ${job.video.sizeBytes} bytes of ${size}`);
  const growth = (peak - baseline) / 1024;
  console.log(
    `\nUpload of ${(size / 1024 ** 3).toFixed(2)} GiB to POST /v1/jobs (${kind}; includes sha256 and ffprobe):\n`,
  );
  console.log(
    '| size (MiB) | time (s) | MB/s | server RSS baseline (MiB) | peak RSS growth (MiB) | target |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | --- |');
  console.log(
    `| ${(size / 1024 ** 2).toFixed(0)} | ${seconds.toFixed(2)} | ${(size / 1e6 / seconds).toFixed(0)} | ${(baseline / 1024).toFixed(0)} | ${growth.toFixed(1)} | ${growth < 64 ? 'under 64 MiB: ok' : 'OVER 64 MiB'} |`,
  );
} finally {
  await srv.stop();
}
