import type { ExportFrame, ExportTrackBox } from './types.js';

/**
 * Groups frames' tracked detections into per-track box lists, for track-shaped exports when the
 * frames are in memory anyway (the CLI, tests). Holds every tracked box: the service reads each
 * track's boxes from the database instead.
 */
export function tracksFromFrames(
  frames: Iterable<ExportFrame>,
  keep: (trackId: number) => boolean = () => true,
): { id: number; label: string; boxes: ExportTrackBox[] }[] {
  const byId = new Map<number, { id: number; label: string; boxes: ExportTrackBox[] }>();
  for (const f of frames) {
    for (const d of f.detections) {
      if (d.trackId === null || !keep(d.trackId)) continue;
      let t = byId.get(d.trackId);
      if (!t) {
        t = { id: d.trackId, label: d.label, boxes: [] };
        byId.set(d.trackId, t);
      }
      t.boxes.push({ frameIndex: f.frameIndex, score: d.score, box: d.box });
    }
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}
