/**
 * Flicker: a detector reports many things for a frame or two that are not there. A track seen in
 * fewer than `minTrackFrames` analysed frames is noise; so is a detection that belongs to no
 * confirmed track at all. Both are left out of object counts and exports unless asked for.
 *
 * The threshold is applied when results are read (the tracks keep their frame counts), so the job
 * option `minTrackFrames` is only the default of a read-time filter (`minFrames`).
 */

/** The default `minTrackFrames`, chosen from measurement (BENCHMARKS.md, "Tracking"). */
export const DEFAULT_MIN_TRACK_FRAMES = 5;

export function isNoiseTrack(track: { frames: number }, minTrackFrames: number): boolean {
  return track.frames < minTrackFrames;
}

/**
 * Pure: a frame with only the detections whose track is kept. `keptTracks` answers for track ids
 * (e.g. a set of the non-noise tracks' ids met in a page of frames); detections with no track are
 * noise by definition.
 */
export function withoutNoise<D extends { trackId: number | null }, F extends { detections: D[] }>(
  frame: F,
  keptTracks: (trackId: number) => boolean,
): F {
  return {
    ...frame,
    detections: frame.detections.filter((d) => d.trackId !== null && keptTracks(d.trackId)),
  };
}
