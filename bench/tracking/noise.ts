import type { TrackInputFrame } from '../../src/tracking/tracker.js';
import { gaussian } from '../../test/helpers/random.js';
import type { GroundTruthFrame } from './scenes.js';

/** Detector-like noise on ground-truth boxes, to measure the tracker apart from the detector. */
export interface NoiseLevel {
  name: string;
  /** each edge moves by a normal sample of this fraction of the box's width or height */
  jitter: number;
  /** a visible object is missed with this probability */
  drop: number;
  /** a found object scores low (0.1..0.3: only the second stage can use it) this often; else 0.4..0.95 */
  weak: number;
  /** false boxes per frame (Poisson), each lasting one frame, scores 0.3..0.6 */
  falsePerFrame: number;
}

export const NOISE_LEVELS: NoiseLevel[] = [
  { name: 'exact boxes', jitter: 0, drop: 0, weak: 0, falsePerFrame: 0 },
  {
    name: 'mild: 3% jitter, 10% missed, 15% weak, 0.5 false/frame',
    jitter: 0.03,
    drop: 0.1,
    weak: 0.15,
    falsePerFrame: 0.5,
  },
  {
    name: 'harsh: 6% jitter, 25% missed, 30% weak, 1.5 false/frame',
    jitter: 0.06,
    drop: 0.25,
    weak: 0.3,
    falsePerFrame: 1.5,
  },
];

function poisson(rand: () => number, lambda: number): number {
  const l = Math.exp(-lambda);
  let k = 0;
  let p = rand();
  while (p > l) {
    k++;
    p *= rand();
  }
  return k;
}

type Det = { label: string; score: number; box: { x1: number; y1: number; x2: number; y2: number } };

export function noisyDetections(
  gt: GroundTruthFrame[],
  level: NoiseLevel,
  rand: () => number,
  size: { width: number; height: number },
): TrackInputFrame<Det>[] {
  const jitterBox = (b: Det['box']) => {
    const w = b.x2 - b.x1;
    const h = b.y2 - b.y1;
    const j = (s: number) => level.jitter * s * gaussian(rand);
    return { x1: b.x1 + j(w), y1: b.y1 + j(h), x2: b.x2 + j(w), y2: b.y2 + j(h) };
  };
  const score = () => (rand() < level.weak ? 0.1 + 0.2 * rand() : 0.4 + 0.55 * rand());
  return gt.map((f) => {
    const detections: Det[] = [];
    for (const o of f.objects) {
      if (rand() < level.drop) continue;
      detections.push({ label: o.label, score: score(), box: jitterBox(o.box) });
    }
    for (const o of f.ignore) {
      // a half-hidden object: found half the time, weakly
      if (rand() < 0.5) detections.push({ label: o.label, score: 0.1 + 0.4 * rand(), box: jitterBox(o.box) });
    }
    for (let k = poisson(rand, level.falsePerFrame); k > 0; k--) {
      const w = 40 + 80 * rand();
      const h = 60 + 100 * rand();
      const x = rand() * (size.width - w);
      const y = rand() * (size.height - h);
      detections.push({
        label: rand() < 0.5 ? 'person' : 'cup',
        score: 0.3 + 0.3 * rand(),
        box: { x1: x, y1: y, x2: x + w, y2: y + h },
      });
    }
    return { frameIndex: f.frameIndex, timestamp: f.timestamp, detections };
  });
}
