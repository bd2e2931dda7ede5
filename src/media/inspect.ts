import { checkProbeLimits, checkScanLimits, MediaLimitError, withScan } from './limits.js';
import { ScanError, scanVideoFrames } from './packets.js';
import { ProbeError, probeVideo, type VideoProbe } from './probe.js';
import type { MediaSettings } from './settings.js';

/**
 * What the upload path runs before it answers 202: the probe (container allowlisted and pinned,
 * header limits: pixels, streams, frame rate), then the packet scan (demux only, fast) bounded by
 * `uploadScanTimeoutMs`, and the limits on the real stream (duration by the last frame, frame
 * count, real frame rate). A scan that cannot finish in time leaves those checks to the process
 * task (the job then fails with the sentence). Throws ProbeError (415) or MediaLimitError (422).
 */
export async function inspectUpload(settings: MediaSettings, file: string): Promise<VideoProbe> {
  const probe = await probeVideo(settings, file);
  const header = checkProbeLimits(probe, settings.limits);
  if (header) throw new MediaLimitError(header);
  if (!(settings.uploadScanTimeoutMs > 0) || !probe.pinnedFormat) return probe;
  let scan: Awaited<ReturnType<typeof scanVideoFrames>>;
  try {
    scan = await scanVideoFrames(settings, file, probe.pinnedFormat, {
      timeoutMs: settings.uploadScanTimeoutMs,
    });
  } catch (e) {
    if (e instanceof ScanError && e.timedOut) return probe; // checked again at the start of processing
    if (e instanceof ScanError) throw new ProbeError(e.message);
    throw e;
  }
  const real = checkScanLimits(scan, settings.limits);
  if (real) throw new MediaLimitError(real);
  return withScan(probe, scan);
}
